import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Characteristics, registerBackend } from "@rollcall/core";
import { MemoryDriver } from "@rollcall/memory";
import { startRedis } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InProcessCli, rollcallHere } from "./in-process-cli.js";
import { Running, rollcall } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "rollcall-cli-config-"));
let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
const running: Running[] = [];

beforeAll(async () => {
  redis = await startRedis();
}, 60_000);
afterAll(async () => {
  for (const r of running) r.kill("SIGKILL");
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh in-process store: the memory backend keeps configurations for the life of this process. */
function memoryUrl(): string {
  return `memory://cli-${randomUUID().slice(0, 8)}`;
}

/** `noconfig://`: the memory backend declaring no configuration store, as a backend without one does. */
registerBackend({
  name: "noconfig",
  schemes: ["noconfig"],
  defaultSessionTimeout: 2000,
  create: (config) => {
    const driver = new MemoryDriver(config);
    const characteristics: Characteristics = { ...driver.characteristics, config: "none" };
    Object.defineProperty(driver, "characteristics", { value: characteristics });
    return driver;
  },
});

interface EntryJson {
  key: string;
  value: unknown;
  version: string;
  updatedAt: string;
}

describe("rollcall config, as a process", () => {
  it("--help describes every subcommand", async () => {
    const { code, stdout } = await rollcall(["config", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("Usage: rollcall config");
    for (const sub of ["get", "set", "delete", "list", "watch", "--if-version", "--prefix", "--string"])
      expect(stdout).toContain(sub);
    expect((await rollcall(["--help"])).stdout).toContain("config get|set|delete|list|watch");
  });

  it("refuses a value that is not JSON, a bad --if-version and unknown subcommands: exit 2, one line", async () => {
    const url = memoryUrl();
    const cases: [string[], RegExp][] = [
      [["config", "set", "nova", "k", "scheduler"], /must be JSON .*"scheduler".*--string/],
      [["config", "set", "nova", "k", "{not json"], /must be JSON/],
      [["config", "set", "nova", "k", "1", "--if-version", "-1"], /--if-version must be a version/],
      [["config", "set", "nova", "k", "1", "--if-version", "v3"], /--if-version must be a version/],
      [["config", "delete", "nova", "k", "--if-version", "0"], /an integer ≥ 1/],
      [["config", "get", "nova", "k", "--string"], /config get takes no --string/],
      [["config", "list", "--prefix", "a/"], /--prefix needs a configuration <name>/],
      [["config", "set", "nova", "k"], /missing <json-value>/],
      [["config", "get", "nova", "k", "extra"], /unexpected argument "extra"/],
      [["config", "frobnicate"], /unknown config subcommand "frobnicate"/],
      [["config"], /missing <get\|set\|delete\|list\|watch>/],
    ];
    for (const [argv, message] of cases) {
      const { code, stdout, stderr } = await rollcall([...argv, "--url", url]);
      expect(code, argv.join(" ")).toBe(2);
      expect(stdout).toBe("");
      expect(stderr.trim().split("\n"), argv.join(" ")).toHaveLength(1);
      expect(stderr).toMatch(message);
    }
  });
});

describe("rollcall config on memory (in this process)", () => {
  it("set / get / list / delete, with versions as decimal strings in JSON", async () => {
    const url = ["--url", memoryUrl()];
    const first = await rollcallHere([
      "config",
      "set",
      "nova",
      "scheduler/max_attempts",
      "5",
      "--json",
      ...url,
    ]);
    expect(first.code).toBe(0);
    const written = JSON.parse(first.stdout) as { config: string; key: string; version: string };
    expect(written).toMatchObject({ config: "nova", key: "scheduler/max_attempts" });
    expect(written.version).toMatch(/^[1-9]\d*$/);

    const text = await rollcallHere([
      "config",
      "set",
      "nova",
      "scheduler/host",
      "--string",
      "compute-1",
      ...url,
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^set scheduler\/host in nova: version \d+$/);
    const object = await rollcallHere([
      "config",
      "set",
      "nova",
      "api/limits",
      '{"rps":100,"burst":[1,2]}',
      ...url,
    ]);
    expect(object.code).toBe(0);
    const quoted = await rollcallHere(["config", "set", "nova", "api/name", '"5"', ...url]);
    expect(quoted.code).toBe(0);

    const got = await rollcallHere(["config", "get", "nova", "scheduler/max_attempts", "--json", ...url]);
    expect(got.code).toBe(0);
    const entry = JSON.parse(got.stdout) as EntryJson;
    expect(entry).toMatchObject({ key: "scheduler/max_attempts", value: 5, version: written.version });
    expect(new Date(entry.updatedAt).getTime()).not.toBeNaN();
    const table = await rollcallHere(["config", "get", "nova", "scheduler/host", ...url]);
    expect(table.stdout).toMatch(
      /^KEY\s+VERSION\s+UPDATED\s+VALUE\nscheduler\/host\s+\d+\s+\S+\s+"compute-1"$/,
    );
    expect(
      JSON.parse((await rollcallHere(["config", "get", "nova", "api/name", "--json", ...url])).stdout),
    ).toMatchObject({
      value: "5",
    });

    const missing = await rollcallHere(["config", "get", "nova", "scheduler/nope", "--json", ...url]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe("null");
    expect((await rollcallHere(["config", "get", "nova", "scheduler/nope", ...url])).stdout).toBe(
      "(no entry scheduler/nope in nova)",
    );

    await rollcallHere(["config", "set", "glance", "store", '"file"', ...url]);
    const names = await rollcallHere(["config", "list", "--json", ...url]);
    expect(JSON.parse(names.stdout)).toEqual(["glance", "nova"]);
    expect((await rollcallHere(["config", "list", ...url])).stdout).toBe("glance\nnova");

    const listed = await rollcallHere(["config", "list", "nova", "--prefix", "scheduler/", "--json", ...url]);
    const snapshot = JSON.parse(listed.stdout) as { config: string; revision: string; entries: EntryJson[] };
    expect(snapshot.config).toBe("nova");
    expect(snapshot.entries.map((e) => [e.key, e.value])).toEqual([
      ["scheduler/host", "compute-1"],
      ["scheduler/max_attempts", 5],
    ]);
    expect(BigInt(snapshot.revision) >= BigInt(written.version)).toBe(true);
    const all = await rollcallHere(["config", "list", "nova", ...url]);
    expect(all.stdout.split("\n")).toHaveLength(5);
    expect(all.stdout).toContain('{"rps":100,"burst":[1,2]}');

    const deleted = await rollcallHere(["config", "delete", "nova", "api/name", "--json", ...url]);
    expect(deleted.code).toBe(0);
    expect(JSON.parse(deleted.stdout)).toEqual({ config: "nova", key: "api/name", deleted: true });
    const again = await rollcallHere(["config", "delete", "nova", "api/name", ...url]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("(no entry api/name in nova: nothing deleted)");
    expect((await rollcallHere(["config", "get", "nova", "api/name", ...url])).code).toBe(1);
    expect((await rollcallHere(["config", "list", "empty", ...url])).stdout).toBe("(no entries)");
  });

  it("--if-version is a compare-and-set: a stale version exits 4 with VERSION_MISMATCH naming the key and the version found, and changes nothing", async () => {
    const url = ["--url", memoryUrl()];
    const created = await rollcallHere([
      "config",
      "set",
      "nova",
      "quota",
      "10",
      "--if-version",
      "0",
      "--json",
      ...url,
    ]);
    expect(created.code).toBe(0);
    const v1 = (JSON.parse(created.stdout) as { version: string }).version;

    const absentOnly = await rollcallHere([
      "config",
      "set",
      "nova",
      "quota",
      "11",
      "--if-version",
      "0",
      ...url,
    ]);
    expect(absentOnly.code).toBe(4);
    expect(absentOnly.stdout).toBe("");
    expect(absentOnly.stderr).toBe(
      `rollcall: VERSION_MISMATCH: configuration "nova": expected key "quota" to be absent, but it is at version ${v1}`,
    );

    const updated = await rollcallHere([
      "config",
      "set",
      "nova",
      "quota",
      "12",
      "--if-version",
      v1,
      "--json",
      ...url,
    ]);
    expect(updated.code).toBe(0);
    const v2 = (JSON.parse(updated.stdout) as { version: string }).version;
    expect(BigInt(v2) > BigInt(v1)).toBe(true);

    const stale = await rollcallHere(["config", "set", "nova", "quota", "13", "--if-version", v1, ...url]);
    expect(stale.code).toBe(4);
    expect(stale.stderr).toContain("VERSION_MISMATCH");
    expect(stale.stderr).toContain('"quota"');
    expect(stale.stderr).toContain(`at version ${v2}`);
    expect(stale.stderr.split("\n")).toHaveLength(1);

    const staleDelete = await rollcallHere(["config", "delete", "nova", "quota", "--if-version", v1, ...url]);
    expect(staleDelete.code).toBe(4);
    expect(staleDelete.stderr).toContain(`it is at version ${v2}`);
    const value = JSON.parse(
      (await rollcallHere(["config", "get", "nova", "quota", "--json", ...url])).stdout,
    );
    expect(value).toMatchObject({ value: 12, version: v2 });

    expect((await rollcallHere(["config", "delete", "nova", "quota", "--if-version", v2, ...url])).code).toBe(
      0,
    );
    const gone = await rollcallHere(["config", "delete", "nova", "quota", "--if-version", v2, ...url]);
    expect(gone.code).toBe(4);
    expect(gone.stderr).toContain("but it is absent");
  });

  it("watch streams a snapshot, then the puts and deletes under its prefix in order, as NDJSON, until stopped", async () => {
    const url = ["--url", memoryUrl()];
    await rollcallHere(["config", "set", "nova", "scheduler/a", "1", ...url]);
    await rollcallHere(["config", "set", "nova", "other/b", "1", ...url]);
    const watch = new InProcessCli(["config", "watch", "nova", "--prefix", "scheduler/", "--json", ...url]);
    const [snapshotLine] = await watch.waitFor(/"type":"snapshot"/);
    const snapshot = JSON.parse(snapshotLine as string) as { revision: string; entries: EntryJson[] };
    expect(snapshot.entries.map((e) => e.key)).toEqual(["scheduler/a"]);
    expect(snapshot.revision).toMatch(/^\d+$/);

    const versions: string[] = [];
    for (const value of ["2", "3", "4"]) {
      const set = await rollcallHere(["config", "set", "nova", "scheduler/a", value, "--json", ...url]);
      versions.push((JSON.parse(set.stdout) as { version: string }).version);
    }
    await rollcallHere(["config", "set", "nova", "other/b", "2", ...url]);
    await rollcallHere(["config", "delete", "nova", "scheduler/a", ...url]);
    await watch.waitFor(/"type":"delete"/);
    watch.stop();
    expect(await watch.exited).toBe(0);

    const events = watch.out.map(
      (l) => JSON.parse(l) as { type: string; config: string; at: string } & Record<string, unknown>,
    );
    expect(events.map((e) => e.type)).toEqual(["snapshot", "put", "put", "put", "delete"]);
    for (const e of events) {
      expect(e.config).toBe("nova");
      expect(new Date(e.at).getTime()).not.toBeNaN();
    }
    const puts = events.filter((e) => e.type === "put").map((e) => e.entry as EntryJson);
    expect(puts.map((p) => [p.key, p.value, p.version])).toEqual([
      ["scheduler/a", 2, versions[0]],
      ["scheduler/a", 3, versions[1]],
      ["scheduler/a", 4, versions[2]],
    ]);
    expect(events.at(-1)).toMatchObject({ type: "delete", key: "scheduler/a" });
    expect(BigInt(events.at(-1)?.revision as string) > BigInt(versions[2] as string)).toBe(true);
    expect(watch.err).toEqual([]);
  });

  it("watch without --json prints one line per event", async () => {
    const url = ["--url", memoryUrl()];
    await rollcallHere(["config", "set", "nova", "k", "1", ...url]);
    const watch = new InProcessCli(["config", "watch", "nova", ...url]);
    await watch.waitFor(/ snapshot +1 entry at revision \d+$/);
    await rollcallHere(["config", "set", "nova", "k", '{"x":true}', ...url]);
    await rollcallHere(["config", "delete", "nova", "k", ...url]);
    await watch.waitFor(/ delete +k \(revision \d+\)$/);
    watch.stop();
    expect(await watch.exited).toBe(0);
    expect(watch.out.some((l) => / put +k = \{"x":true\} \(version \d+\)$/.test(l))).toBe(true);
  });
});

describe("rollcall config on a backend without a configuration store", () => {
  it("fails every subcommand with NOT_SUPPORTED: exit 1, one line", async () => {
    const url = ["--url", "noconfig://none"];
    for (const argv of [
      ["config", "list"],
      ["config", "list", "nova"],
      ["config", "get", "nova", "k"],
      ["config", "set", "nova", "k", "1"],
      ["config", "delete", "nova", "k"],
      ["config", "watch", "nova"],
    ]) {
      const { code, stdout, stderr } = await rollcallHere([...argv, ...url]);
      expect(code, argv.join(" ")).toBe(1);
      expect(stdout).toBe("");
      expect(stderr).toBe(
        'rollcall: NOT_SUPPORTED: the noconfig backend has no configuration store (characteristics.config is "none")',
      );
    }
  });
});

let n = 0;
const backends: [string, () => string][] = [
  ["sqlite", () => `sqlite://${dir}/config.db?namespace=c${++n}`],
  ["redis", () => `${redis?.url}?namespace=c${++n}`],
];

describe.each(backends)("rollcall config across processes on %s", (_name, makeUrl) => {
  it("a value set by one process is read by the next; concurrent compare-and-sets: exactly one wins, the others exit 4", async () => {
    const url = makeUrl();
    const created = await rollcall(["config", "set", "nova", "quota", "10", "--json", "--url", url]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const v1 = (JSON.parse(created.stdout) as { version: string }).version;
    const read = await rollcall(["config", "get", "nova", "quota", "--json", "--url", url]);
    expect(JSON.parse(read.stdout)).toMatchObject({ key: "quota", value: 10, version: v1 });

    const racers = await Promise.all(
      [11, 12, 13, 14].map((value) =>
        rollcall([
          "config",
          "set",
          "nova",
          "quota",
          String(value),
          "--if-version",
          v1,
          "--json",
          "--url",
          url,
        ]),
      ),
    );
    const winners = racers.filter((r) => r.code === 0);
    const losers = racers.filter((r) => r.code !== 0);
    expect(winners).toHaveLength(1);
    for (const loser of losers) {
      expect(loser.code).toBe(4);
      expect(loser.stderr).toMatch(
        /^rollcall: VERSION_MISMATCH: configuration "nova": expected key "quota" at version \d+, but it is at version \d+\n$/,
      );
    }
    const won = (JSON.parse(winners[0]?.stdout ?? "") as { version: string }).version;
    for (const loser of losers) expect(loser.stderr).toContain(`but it is at version ${won}`);
    const after = JSON.parse(
      (await rollcall(["config", "get", "nova", "quota", "--json", "--url", url])).stdout,
    );
    expect(after.version).toBe(won);
    expect(BigInt(won) > BigInt(v1)).toBe(true);
  }, 60_000);

  it("watch in one process follows the sets and deletes of others, in order, as NDJSON", async () => {
    const url = makeUrl();
    await rollcall(["config", "set", "nova", "scheduler/a", "1", "--url", url]);
    const watch = new Running(["config", "watch", "nova", "--prefix", "scheduler/", "--json", "--url", url]);
    running.push(watch);
    await watch.waitFor(/"type":"snapshot"/);
    const versions: string[] = [];
    for (const value of ["2", "3"]) {
      const set = await rollcall(["config", "set", "nova", "scheduler/a", value, "--json", "--url", url]);
      versions.push((JSON.parse(set.stdout) as { version: string }).version);
    }
    await rollcall(["config", "set", "nova", "other", "1", "--url", url]);
    await rollcall(["config", "delete", "nova", "scheduler/a", "--url", url]);
    await watch.waitFor(/"type":"delete"/);
    watch.kill("SIGINT");
    expect(await watch.exited).toBe(0);
    const events = watch.lines.map(
      (l) => JSON.parse(l) as { type: string; entry?: { value: unknown; version: string }; key?: string },
    );
    expect(events.map((e) => e.type)).toEqual(["snapshot", "put", "put", "delete"]);
    expect(events.filter((e) => e.type === "put").map((e) => [e.entry?.value, e.entry?.version])).toEqual([
      [2, versions[0]],
      [3, versions[1]],
    ]);
    expect(events[3]?.key).toBe("scheduler/a");
  }, 60_000);
});
