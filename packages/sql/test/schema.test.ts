import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Databases, DIALECTS, randomId, startDatabases, withQuery } from "./helpers.js";

const SCRIPT = fileURLToPath(new URL("./fixtures/connect-join.mjs", import.meta.url));
let dbs: Databases;

beforeAll(async () => {
  dbs = await startDatabases();
}, 120_000);
afterAll(() => dbs?.close(), 60_000);

function run(url: string, memberId: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = fork(SCRIPT, [url, memberId, "g"], {
      stdio: ["ignore", "inherit", "pipe", "ipc"],
      execArgv: [],
    });
    let seq: string | undefined;
    let stderr = "";
    child.stderr?.on("data", (d) => {
      stderr += String(d);
    });
    child.on("message", (m: { seq?: string }) => {
      seq = m.seq;
    });
    child.on("exit", (code) =>
      code === 0 && seq ? resolve(seq) : reject(new Error(`${memberId} exited ${code}: ${stderr}`)),
    );
  });
}

describe.each(DIALECTS)("%s schema", (dialect) => {
  it("several processes starting at once on an empty database create the tables once and all join", async () => {
    const tablePrefix = `${randomId("p").replace(/-/g, "_")}_`;
    const url = withQuery(dbs.urls[dialect], { tablePrefix, namespace: "n" });
    const seqs = await Promise.all([1, 2, 3, 4, 5].map((i) => run(url, `m${i}`)));
    expect(new Set(seqs).size).toBe(5);
  }, 60_000);
});
