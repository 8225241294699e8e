import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connect, type Member } from "@rollcall/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "@rollcall/sql";
import { type Databases, DIALECTS, randomId, startDatabases, withQuery } from "./helpers.js";

const CHURN = fileURLToPath(new URL("./fixtures/churn.mjs", import.meta.url));
let dbs: Databases;

beforeAll(async () => {
  dbs = await startDatabases();
}, 120_000);
afterAll(() => dbs?.close(), 60_000);

function runChurner(url: string, memberId: string, group: string, duration: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = fork(CHURN, [url, memberId, group, String(duration)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      execArgv: [],
    });
    let joins = -1;
    child.on("message", (m: { type: string; joins?: number }) => {
      if (m.type === "done") joins = m.joins ?? 0;
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 && joins >= 0 ? resolve(joins) : reject(new Error(`churner ${memberId} exited ${code}`)),
    );
  });
}

describe.each(DIALECTS)("%s: seq is assigned in visible order", (dialect) => {
  it("members that become visible later always have a larger seq, with concurrent joins from several processes", async () => {
    const url = withQuery(dbs.urls[dialect], { namespace: randomId("seq"), sessionTimeout: 5000 });
    const group = "churn";
    const reader = await connect(url, { memberId: "reader" });
    await reader.createGroup(group).catch(() => {});
    const churners = [1, 2, 3].map((i) => runChurner(url, `p${i}`, group, 3000));
    // Every listing: a member incarnation not seen before must have a larger seq than all seen before.
    const seen = new Set<string>();
    let maxSeen = -1n;
    let listings = 0;
    let violations = 0;
    let incarnations = 0;
    let finished = false;
    void Promise.allSettled(churners).then(() => {
      finished = true;
    });
    const deadline = Date.now() + 30_000;
    while (!finished && Date.now() < deadline) {
      // SQLite answers synchronously: yield to the event loop so child exits are noticed.
      await new Promise((resolve) => setImmediate(resolve));
      const members: Member[] = await reader.members(group);
      listings++;
      const fresh = members.filter((m) => !seen.has(`${m.id}:${m.seq}`));
      for (const m of fresh) if (m.seq <= maxSeen) violations++;
      for (const m of members) {
        if (!seen.has(`${m.id}:${m.seq}`)) incarnations++;
        seen.add(`${m.id}:${m.seq}`);
        if (m.seq > maxSeen) maxSeen = m.seq;
      }
    }
    const joins = await Promise.all(churners);
    await reader.close();
    expect(violations).toBe(0);
    expect(Math.min(...joins)).toBeGreaterThan(10);
    expect(incarnations).toBeGreaterThan(10);
    expect(listings).toBeGreaterThan(10);
  }, 60_000);
});
