import {
  type ConfigEvent,
  type Coordinator,
  connect,
  type Json,
  MAX_METADATA_BYTES,
  parseUrl,
  RollcallError,
} from "@rollcall/core";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigRecorder, canonicalJson, configSummary, entryLines } from "../config-recorder.js";
import type { ChurnValue, ConfigScript } from "../config-script.js";
import { type ConfigWriter, startConfigWriter, writerDone } from "../config-writer.js";
import { eventually, type Harness, randomId, withParams } from "../harness.js";
import type { ChildMessage } from "../message-log.js";
import { Exposure } from "./security.js";

/** The store most tests use. */
const STORE = "nova";

/** The rejection of `attempt` (sync or async), which must be a `RollcallError`. */
async function rejection(attempt: () => unknown): Promise<RollcallError> {
  try {
    await attempt();
  } catch (error) {
    if (RollcallError.isInstance(error)) return error;
    throw new Error(`expected a RollcallError, got ${String(error)}`);
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** Every entry point of a backend without a configuration store says `NOT_SUPPORTED`. */
async function expectNotSupported(coord: Coordinator): Promise<void> {
  const direct = await rejection(() => coord.config(STORE));
  expect(direct.code, direct.message).toBe("NOT_SUPPORTED");
  const listing = await rejection(() => coord.configs());
  expect(listing.code, listing.message).toBe("NOT_SUPPORTED");
  // Input is still checked first, as everywhere else.
  expect((await rejection(() => coord.config("../escape"))).code).toBe("INVALID_ARGUMENT");
}

/** The versions a writer reported, by sequence number (`wrote` messages). */
function wrote(writer: ConfigWriter): ChildMessage[] {
  return writer.messages.filter((m) => m.type === "wrote");
}

/**
 * The configuration store (`coord.config(name)`): the API, compare-and-set races between writers in
 * separate processes, watch order and convergence under concurrent writers, persistence across close,
 * process exit, session expiry and (where declared) a server restart, watch resynchronisation, bad input
 * and credentials. Writers run in child processes ({@link startConfigWriter}); for `scope: "process"`
 * backends, whose server lives in the test process, they are coordinators of their own in this process.
 * On a backend that declares `config: "none"` every entry point must say `NOT_SUPPORTED`, and each test
 * checks exactly that instead (the characteristics are read after the tests are registered).
 */
export function configSuite(h: Harness): void {
  describe("config", () => {
    const writers: ConfigWriter[] = [];
    const recorders: ConfigRecorder[] = [];

    afterEach(async () => {
      await Promise.allSettled(recorders.splice(0).map((r) => r.stop()));
      await Promise.allSettled(writers.splice(0).map((w) => w.dispose()));
    }, 60_000);

    /**
     * A coordinator for a test that needs a store; `undefined` (after checking that the backend says
     * `NOT_SUPPORTED` everywhere) when it has none.
     */
    async function open(extra: Record<string, string | number> = {}): Promise<Coordinator | undefined> {
      const coord = await h.coordinator(randomId("m"), extra);
      if (h.characteristics.config !== "none") return coord;
      await expectNotSupported(coord);
      return undefined;
    }

    function record(coord: Coordinator, prefix?: string, store = STORE): ConfigRecorder {
      const recorder = new ConfigRecorder(coord, store, prefix);
      recorders.push(recorder);
      return recorder;
    }

    function writer(prefix: string, script: ConfigScript): ConfigWriter {
      const started = startConfigWriter(h, randomId(prefix), script);
      writers.push(started);
      return started;
    }

    /** Starts writers, waits until all are connected, then lets them go at once. */
    async function race(scripts: ConfigScript[], prefix: string): Promise<ConfigWriter[]> {
      const started = scripts.map((script, i) => writer(`${prefix}${i}`, script));
      await Promise.all(started.map((w) => w.ready(h.eventTimeout * 2)));
      for (const w of started) w.go();
      return started;
    }

    /** Churn scripts for `count` writers named w0, w1, … sharing two keys. */
    function churn(count: number, writes: number): Extract<ConfigScript, { kind: "churn" }>[] {
      return Array.from({ length: count }, (_, i) => ({
        kind: "churn",
        store: STORE,
        writer: `w${i}`,
        shared: ["shared/x", "shared/y"],
        writes,
      }));
    }

    it("declares its configuration store; without one, config() and configs() say NOT_SUPPORTED", async () => {
      expect(["none", "volatile", "durable"]).toContain(h.characteristics.config);
      const coord = await h.coordinator();
      if (h.characteristics.config === "none") {
        await expectNotSupported(coord);
        return;
      }
      expect(coord.config(STORE).name).toBe(STORE);
      expect(await coord.configs()).toEqual([]);
      expect(await coord.config(STORE).entries()).toMatchObject({ entries: [] });
    });

    it("get, set, delete: versions only grow per key, also across a delete and a re-create", async () => {
      const coord = await open();
      if (!coord) return;
      const cfg = coord.config(STORE);
      const key = "scheduler/max_attempts";
      expect(await cfg.get(key)).toBeUndefined();
      const before = Date.now();
      const v1 = await cfg.set(key, 5);
      expect(typeof v1).toBe("bigint");
      expect(v1).toBeGreaterThan(0n);
      const first = await cfg.get(key);
      expect(first).toMatchObject({ key, value: 5, version: v1 });
      expect(first?.updatedAt).toBeInstanceOf(Date);
      // Server clocks may differ a little from this one; a minute is plenty.
      expect(Math.abs((first?.updatedAt.getTime() ?? 0) - before)).toBeLessThan(60_000);
      const v2 = await cfg.set(key, 6);
      expect(v2).toBeGreaterThan(v1);
      expect(await cfg.get(key)).toMatchObject({ value: 6, version: v2 });
      expect(await cfg.delete(key)).toBe(true);
      expect(await cfg.get(key)).toBeUndefined();
      expect(await cfg.delete(key), "an unconditional delete of a missing key").toBe(false);
      const v3 = await cfg.set(key, 7);
      expect(v3, "a re-created key's version is above every version it had").toBeGreaterThan(v2);
      expect(await cfg.get(key)).toMatchObject({ value: 7, version: v3 });
      // Other keys and stores are independent.
      const other = await coord.config("glance").set(key, "x");
      expect(await cfg.get(key)).toMatchObject({ value: 7, version: v3 });
      expect(await coord.config("glance").get(key)).toMatchObject({ value: "x", version: other });
    });

    it("compare-and-set: 0n only if absent; a lost one is VERSION_MISMATCH naming the key and the version found, and changes nothing", async () => {
      const coord = await open();
      if (!coord) return;
      const cfg = coord.config(STORE);
      const key = "api/workers";
      const v1 = await cfg.set(key, 1, { ifVersion: 0n });
      const absent = await rejection(() => cfg.set(key, 2, { ifVersion: 0n }));
      expect(absent).toMatchObject({ code: "VERSION_MISMATCH", key, version: v1 });
      expect(absent.message).toContain(key);
      expect(await cfg.get(key)).toMatchObject({ value: 1, version: v1 });

      const v2 = await cfg.set(key, 2, { ifVersion: v1 });
      expect(v2).toBeGreaterThan(v1);
      const stale = await rejection(() => cfg.set(key, 3, { ifVersion: v1 }));
      expect(stale).toMatchObject({ code: "VERSION_MISMATCH", key, version: v2 });
      expect(stale.message).toContain(String(v2));
      expect(await cfg.get(key)).toMatchObject({ value: 2, version: v2 });

      const staleDelete = await rejection(() => cfg.delete(key, { ifVersion: v1 }));
      expect(staleDelete).toMatchObject({ code: "VERSION_MISMATCH", key, version: v2 });
      expect(await cfg.get(key)).toMatchObject({ value: 2, version: v2 });
      expect(await cfg.delete(key, { ifVersion: v2 })).toBe(true);
      expect(await cfg.get(key)).toBeUndefined();

      const missing = await rejection(() => cfg.delete(key, { ifVersion: v2 }));
      expect(missing).toMatchObject({ code: "VERSION_MISMATCH", key });
      expect(missing.version, "the key is absent: no version found").toBeUndefined();
      const missingSet = await rejection(() => cfg.set(key, 4, { ifVersion: v2 }));
      expect(missingSet).toMatchObject({ code: "VERSION_MISMATCH", key });
      expect(missingSet.version).toBeUndefined();
      expect(await cfg.get(key), "a lost compare-and-set writes nothing").toBeUndefined();
      const v3 = await cfg.set(key, 5, { ifVersion: 0n });
      expect(v3).toBeGreaterThan(v2);
    });

    it("entries({ prefix }) is sorted and filtered, with a revision; configs() lists the stores holding entries; groups do not mix with stores", async () => {
      const coord = await open();
      if (!coord) return;
      const cfg = coord.config(STORE);
      const values: Record<string, Json> = {
        "scheduler/max_attempts": 5,
        "scheduler/deep/weight": 1.5,
        "scheduler/a": "first",
        schedulerx: true,
        "api/workers": { n: 8 },
      };
      const versions = new Map<string, bigint>();
      for (const [key, value] of Object.entries(values)) versions.set(key, await cfg.set(key, value));
      const all = await cfg.entries();
      expect(all.entries.map((e) => e.key)).toEqual([
        "api/workers",
        "scheduler/a",
        "scheduler/deep/weight",
        "scheduler/max_attempts",
        "schedulerx",
      ]);
      for (const entry of all.entries) {
        expect(entry.version).toBe(versions.get(entry.key));
        expect(canonicalJson(entry.value)).toBe(canonicalJson(values[entry.key]));
      }
      let highest = 0n;
      for (const version of versions.values()) if (version > highest) highest = version;
      expect(all.revision, "the snapshot's revision covers every version in it").toBeGreaterThanOrEqual(
        highest,
      );
      const scheduler = await cfg.entries({ prefix: "scheduler/" });
      expect(scheduler.entries.map((e) => e.key)).toEqual([
        "scheduler/a",
        "scheduler/deep/weight",
        "scheduler/max_attempts",
      ]);
      expect((await cfg.entries({ prefix: "sched" })).entries).toHaveLength(4);
      expect((await cfg.entries({ prefix: "nothing/" })).entries).toEqual([]);

      await coord.config("glance").set("images/cache", 10);
      expect(await coord.configs()).toEqual(["glance", STORE]);
      // A group named like a store is another thing.
      await coord.createGroup(STORE);
      await coord.join(STORE, { metadata: { role: "api" } });
      expect(await coord.groups()).toEqual([STORE]);
      expect(entryLines((await cfg.entries()).entries)).toEqual(entryLines(all.entries));
      await coord.leave(STORE);
      await coord.deleteGroup(STORE);
      expect(entryLines((await cfg.entries()).entries)).toEqual(entryLines(all.entries));
      // A store whose last entry is deleted holds nothing.
      expect(await coord.config("glance").delete("images/cache")).toBe(true);
      expect(await coord.configs()).toEqual([STORE]);
    });

    it("values: any JSON up to the size limit, and keys up to the longest, round-trip exactly", async () => {
      const coord = await open();
      if (!coord) return;
      const cfg = coord.config(STORE);
      const values: Json[] = [
        null,
        false,
        0,
        -1.5,
        1e21,
        "",
        'ünïcødé ✓ 🚀 \u0000 \n "quoted" \\',
        [],
        {},
        [1, [2, [3]], { a: null }],
        { nested: { list: [true, "x", 3], empty: {} }, "key with spaces": "v", "": "empty key" },
      ];
      for (const [i, value] of values.entries()) {
        const version = await cfg.set(`v/${i}`, value);
        const read = await cfg.get(`v/${i}`);
        expect(read?.version).toBe(version);
        expect(canonicalJson(read?.value), `value ${i}`).toBe(canonicalJson(value));
      }
      // A value of exactly the default limit (64 KiB as JSON) is stored whole.
      const big = "é".repeat((MAX_METADATA_BYTES - 2) / 2);
      expect(Buffer.byteLength(JSON.stringify(big))).toBe(MAX_METADATA_BYTES);
      await cfg.set("big", big);
      expect((await cfg.get("big"))?.value === big, "the 64 KiB value comes back whole").toBe(true);
      const longest = `${"k".repeat(128)}/${"v".repeat(127)}`;
      expect(longest).toHaveLength(256);
      const version = await cfg.set(longest, 1);
      expect(await cfg.get(longest)).toMatchObject({ key: longest, value: 1, version });
      expect((await cfg.entries({ prefix: "kkk" })).entries.map((e) => e.key)).toEqual([longest]);
    });

    it("watch: a snapshot first, then each put and delete in order; a view answers from memory and follows", async () => {
      const writerCoord = await open();
      if (!writerCoord) return;
      const watcher = await h.coordinator();
      const cfg = writerCoord.config(STORE);
      const v1 = await cfg.set("a", 1);
      const recorder = record(watcher);
      const scheduler = record(watcher, "scheduler/");
      const snapshot = await recorder.waitFor((e) => e.type === "snapshot", h.eventTimeout, "the snapshot");
      expect(snapshot).toMatchObject({ type: "snapshot", config: STORE });
      if (snapshot.type !== "snapshot") return;
      expect(entryLines(snapshot.entries)).toEqual([`a@${v1}=1`]);
      expect(snapshot.revision).toBeGreaterThanOrEqual(v1);
      await scheduler.waitFor((e) => e.type === "snapshot", h.eventTimeout, "the prefix watch's snapshot");

      const seen = (what: string, match: (e: ConfigEvent) => boolean) =>
        recorder.waitFor(match, h.eventTimeout, what);
      const v2 = await cfg.set("b", { n: 2 });
      await seen("put b", (e) => e.type === "put" && e.entry.key === "b");
      const v3 = await cfg.set("a", 2);
      await seen("put a", (e) => e.type === "put" && e.entry.key === "a");
      await cfg.delete("b");
      const deleted = await seen("delete b", (e) => e.type === "delete" && e.key === "b");
      const v4 = await cfg.set("scheduler/x", "s");
      await seen("put scheduler/x", (e) => e.type === "put" && e.entry.key === "scheduler/x");
      expect(recorder.events.map(configSummary)).toEqual([
        configSummary(snapshot),
        `put b@${v2}={"n":2}`,
        `put a@${v3}=2`,
        configSummary(deleted),
        `put scheduler/x@${v4}="s"`,
      ]);
      expect(deleted.type === "delete" && deleted.revision > v3, "a delete's revision is after the put").toBe(
        true,
      );
      expect(recorder.events.every((e) => e.config === STORE)).toBe(true);
      await scheduler.waitFor(
        (e) => e.type === "put" && e.entry.key === "scheduler/x",
        h.eventTimeout,
        "put scheduler/x under the prefix",
      );
      expect(scheduler.events.map(configSummary).slice(1)).toEqual([`put scheduler/x@${v4}="s"`]);

      const view = await watcher.config(STORE).view();
      const changes: string[] = [];
      view.on("change", (e) => changes.push(configSummary(e)));
      expect(view.name).toBe(STORE);
      expect(view.size).toBe(2);
      expect(view.get("a")).toMatchObject({ value: 2, version: v3 });
      expect(view.value("a")).toBe(2);
      expect(view.value("missing", 7)).toBe(7);
      expect(view.has("b")).toBe(false);
      expect(view.revision).toBeGreaterThanOrEqual(v4);
      const v5 = await cfg.set("a", 3);
      await eventually(() => view.value("a") === 3, h.eventTimeout, "the view to follow a's update");
      expect(changes).toEqual([`put a@${v5}=3`]);
      expect(view.entries().map((e) => e.key)).toEqual(["a", "scheduler/x"]);
      await view.close();
      expect(view.get("a")).toBeUndefined();
      expect(view.size).toBe(0);
    });

    it(
      "compare-and-set race: writers in separate processes, every version won by exactly one, the counter equal to the wins",
      async () => {
        const coord = await open();
        if (!coord) return;
        const cfg = coord.config("counters");
        const v0 = await cfg.set("hits", 0);
        const count = 4;
        const successes = 15;
        const started = await race(
          Array.from({ length: count }, () => ({
            kind: "increment" as const,
            store: "counters",
            key: "hits",
            successes,
          })),
          "cas",
        );
        await Promise.all(started.map((w) => writerDone(w, h.eventTimeout * 6)));
        const wins = started.flatMap((w) =>
          w.messages
            .filter((m) => m.type === "won")
            .map((m) => ({ writer: w.memberId, value: Number(m.value), version: BigInt(String(m.version)) })),
        );
        const total = count * successes;
        expect(wins).toHaveLength(total);
        const final = await cfg.get("hits");
        expect(final?.value, "the counter equals the increments won").toBe(total);
        const byValue = [...wins].sort((a, b) => a.value - b.value);
        expect(
          byValue.map((w) => w.value),
          "each increment was won by exactly one writer",
        ).toEqual(Array.from({ length: total }, (_, i) => i + 1));
        expect(new Set(wins.map((w) => w.version)).size, "no version was won twice").toBe(total);
        let previous = v0;
        for (const win of byValue) {
          expect(
            win.version,
            `value ${win.value} (${win.writer}) after the version before it`,
          ).toBeGreaterThan(previous);
          previous = win.version;
        }
        expect(final?.version).toBe(previous);
      },
      h.eventTimeout * 10 + 60_000,
    );

    it(
      "watch under concurrent writers: per-key order, each writer's order, every last write seen, convergence to entries()",
      async () => {
        const watcher = await open();
        if (!watcher) return;
        const cfg = (await h.coordinator()).config(STORE);
        const seed = await cfg.set("shared/x", { writer: "seed", seq: -1 });
        const all = record(watcher);
        const shared = record(watcher, "shared/");
        const view = await watcher.config(STORE).view();
        await all.waitFor((e) => e.type === "snapshot", h.eventTimeout, "the snapshot");
        await shared.waitFor((e) => e.type === "snapshot", h.eventTimeout, "the prefix watch's snapshot");
        const scripts = churn(3, 40);
        const started = await race(scripts, "churn");
        await Promise.all(started.map((w) => writerDone(w, h.eventTimeout * 6)));

        const expected = await cfg.entries();
        await all.converge(expected, h.eventTimeout, "the watch of every key");
        await shared.converge(await cfg.entries({ prefix: "shared/" }), h.eventTimeout, "the prefix watch");
        await eventually(
          () => entryLines(view.entries()).join("\n") === entryLines(expected.entries).join("\n"),
          h.eventTimeout,
          "the view to converge to entries()",
        );
        await view.close();
        expect(all.orderViolations()).toEqual([]);
        expect(shared.orderViolations()).toEqual([]);
        expect(
          shared.events
            .flatMap((e) =>
              e.type === "snapshot" ? e.entries.map((x) => x.key) : [e.type === "put" ? e.entry.key : e.key],
            )
            .filter((key) => !key.startsWith("shared/")),
          "the prefix watch shows nothing outside its prefix",
        ).toEqual([]);

        // Every put watched is a write some writer made, with the version it was given.
        const made = new Map<string, string>([
          [`shared/x@${seed}`, canonicalJson({ writer: "seed", seq: -1 })],
        ]);
        for (const [i, w] of started.entries()) {
          for (const m of wrote(w)) {
            made.set(`${m.key}@${m.version}`, canonicalJson({ writer: scripts[i]?.writer, seq: m.seq }));
          }
        }
        for (const put of all.puts()) {
          expect(made.get(`${put.key}@${put.version}`), `watched put ${put.key}@${put.version}`).toBe(
            canonicalJson(put.value),
          );
        }
        // One writer's writes are committed in its order: the watch shows those it shows in that order.
        for (const script of scripts) {
          const seqs = all
            .puts()
            .map((p) => p.value as unknown as ChurnValue)
            .filter((v) => v.writer === script.writer)
            .map((v) => v.seq);
          expect(
            seqs.every((seq, i) => i === 0 || seq > (seqs[i - 1] as number)),
            `${script.writer}'s writes watched in its order: ${seqs.join(",")}`,
          ).toBe(true);
        }
        // Each writer's last write is seen, with its version.
        for (const [i, w] of started.entries()) {
          const last = wrote(w).find((m) => Number(m.seq) === (scripts[i]?.writes ?? 0) - 1);
          const key = `${scripts[i]?.writer}/done`;
          const version = BigInt(String(last?.version));
          expect(
            all.events.some(
              (e) =>
                (e.type === "put" && e.entry.key === key && e.entry.version === version) ||
                (e.type === "snapshot" && e.entries.some((x) => x.key === key && x.version === version)),
            ),
            `${key}@${version} seen`,
          ).toBe(true);
        }
      },
      h.eventTimeout * 12 + 60_000,
    );

    it(
      "a watch started during churn converges to entries()",
      async () => {
        const watcher = await open();
        if (!watcher) return;
        const scripts = churn(3, 80);
        const started = await race(scripts, "busy");
        await started[0]?.waitFor(
          (m) => (m.type === "wrote" || m.type === "deleted") && Number(m.seq) >= 10,
          h.eventTimeout * 2,
          "ten writes",
        );
        const recorder = record(watcher);
        await Promise.all(started.map((w) => writerDone(w, h.eventTimeout * 6)));
        const expected = await watcher.config(STORE).entries();
        await recorder.converge(expected, h.eventTimeout, "the watch started during churn");
        expect(recorder.orderViolations()).toEqual([]);
      },
      h.eventTimeout * 12 + 60_000,
    );

    it(
      "entries survive the writer's close() and its process's exit",
      async () => {
        const reader = await open();
        if (!reader) return;
        const inProcess = await h.coordinator();
        await inProcess.config(STORE).set("kept/in-process", { by: "close()" });
        const closedBefore = (await inProcess.config(STORE).entries()).entries;
        await inProcess.close();
        const after = (await reader.config(STORE).entries()).entries;
        expect(entryLines(after)).toEqual(entryLines(closedBefore));
        expect(after.map((e) => e.updatedAt.getTime())).toEqual(
          closedBefore.map((e) => e.updatedAt.getTime()),
        );

        const keeper = writer("keeper", {
          kind: "write",
          store: STORE,
          entries: [
            { key: "scheduler/max_attempts", value: 5 },
            { key: "api/workers", value: { n: 8 } },
          ],
        });
        await keeper.ready(h.eventTimeout * 2);
        keeper.go();
        const versions = (await writerDone(keeper, h.eventTimeout)).versions as Record<string, string>;
        keeper.close();
        await keeper.waitFor((m) => m.type === "closed", h.eventTimeout, "closed");
        const fresh = await h.coordinator();
        expect(entryLines((await fresh.config(STORE).entries()).entries)).toEqual([
          `api/workers@${versions["api/workers"]}={"n":8}`,
          ...entryLines(closedBefore),
          `scheduler/max_attempts@${versions["scheduler/max_attempts"]}=5`,
        ]);
      },
      h.eventTimeout * 6 + 30_000,
    );

    it(
      "entries survive the writer's session expiry (a crashed writer)",
      async () => {
        const watcher = await open();
        if (!watcher) return;
        await watcher.createGroup("writers");
        const crashing = writer("crash", {
          kind: "write",
          store: STORE,
          entries: [
            { key: "scheduler/max_attempts", value: 9 },
            { key: "db/pool", value: [1, 2] },
          ],
          join: "writers",
        });
        await crashing.ready(h.eventTimeout * 2);
        const members = h.record(watcher, "writers");
        await members.waitFor(
          (e) => e.type === "snapshot" && e.members.some((m) => m.id === crashing.memberId),
          h.eventTimeout,
          "the writer in the snapshot",
        );
        crashing.go();
        await writerDone(crashing, h.eventTimeout);
        const before = (await watcher.config(STORE).entries()).entries;
        expect(before).toHaveLength(2);
        crashing.kill();
        await members.waitFor(
          (e) => e.type === "leave" && e.memberId === crashing.memberId,
          h.detectionBound + h.eventTimeout,
          "the crashed writer's session to end",
        );
        const after = (await (await h.coordinator()).config(STORE).entries()).entries;
        expect(entryLines(after)).toEqual(entryLines(before));
      },
      h.detectionBound * 4 + 30_000,
    );

    if (h.options.faults?.includes("restartServer")) {
      const restartBound = () => h.detectionBound * 3 + 30_000;

      it(
        "across a server restart: entries kept where the store is durable; the API works after it either way",
        async () => {
          const fault = h.target?.faults?.restartServer;
          if (!fault)
            throw new Error("runConformance() names the restartServer fault but setup() returned none");
          const old = await open();
          if (!old) return;
          const cfg = old.config(STORE);
          await cfg.set("scheduler/max_attempts", 5);
          await cfg.set("api/workers", { n: 8 });
          const before = await cfg.entries();
          await fault.run();
          const fresh = (await h.coordinator()).config(STORE);
          if (h.characteristics.config === "durable") {
            expect(entryLines((await fresh.entries()).entries), "a durable store keeps its entries").toEqual(
              entryLines(before.entries),
            );
            const kept = before.entries.find((e) => e.key === "api/workers");
            const next = await fresh.set("api/workers", { n: 9 }, { ifVersion: kept?.version ?? 0n });
            expect(next, "versions keep growing after the restart").toBeGreaterThan(kept?.version ?? 0n);
          }
          // (A volatile store may have lost them: nothing is asserted about the old values.)
          const version = await fresh.set("after/restart", true);
          expect(await fresh.get("after/restart")).toMatchObject({ value: true, version });
          const expected = entryLines((await fresh.entries()).entries);
          // The coordinator that lived through the restart reaches the store again by itself.
          await eventually(
            async () => entryLines((await cfg.entries()).entries).join("\n") === expected.join("\n"),
            restartBound(),
            "the old coordinator to read the store after the restart",
          );
        },
        h.detectionBound * 6 + 120_000,
      );

      it(
        "a watch resynchronises after a server restart and converges to entries()",
        async () => {
          const fault = h.target?.faults?.restartServer;
          if (!fault)
            throw new Error("runConformance() names the restartServer fault but setup() returned none");
          const old = await open();
          if (!old) return;
          const cfg = old.config(STORE);
          await cfg.set("before/x", 1);
          await cfg.set("before/y", 2);
          await cfg.set("before/z", 3);
          const recorder = record(old);
          await recorder.waitFor((e) => e.type === "snapshot", h.eventTimeout, "the snapshot");
          await fault.run();
          const fresh = (await h.coordinator()).config(STORE);
          await fresh.set("after/a", "new");
          await fresh.set("before/x", 10);
          await fresh.delete("before/y");
          await fresh.set("after/b", { n: 1 });
          const expected = await fresh.entries();
          await recorder.converge(expected, restartBound(), "the watch through the restart");
          expect(recorder.orderViolations()).toEqual([]);
        },
        h.detectionBound * 6 + 120_000,
      );
    }

    it("bad input: keys, prefixes, names, values, sizes, ifVersion and options are refused with the code for each, and nothing changes", async () => {
      const limit = 1024;
      const coord = await open({ maxMetadataBytes: limit });
      if (!coord) return;
      const cfg = coord.config(STORE);
      await cfg.set("a/b", 1);
      await cfg.set("c", { x: 1 });
      const before = entryLines((await cfg.entries()).entries);
      const storesBefore = await coord.configs();

      const refused = async (what: string, code: string, mentions: string, attempt: () => unknown) => {
        const error = await rejection(attempt);
        expect(error.code, `${what}: ${error.message}`).toBe(code);
        expect(error.message.toLowerCase(), what).toContain(mentions);
      };
      const badKeys: unknown[] = [
        "",
        "/a",
        "a/",
        "a//b",
        "../x",
        "a/../b",
        ".hidden",
        "a/.b",
        "a b",
        "a\u0000b",
        "é",
        "a*",
        `${"k".repeat(129)}`,
        `${"k".repeat(128)}/${"v".repeat(128)}`,
        5,
        null,
        undefined,
        { key: "a" },
      ];
      for (const key of badKeys) {
        const shown = JSON.stringify(key) ?? String(key);
        await refused(`get(${shown})`, "INVALID_ARGUMENT", "key", () => cfg.get(key as string));
        await refused(`set(${shown})`, "INVALID_ARGUMENT", "key", () => cfg.set(key as string, 1));
        await refused(`delete(${shown})`, "INVALID_ARGUMENT", "key", () => cfg.delete(key as string));
      }
      for (const prefix of ["a b", "*", "a\nb", "x".repeat(257), 5]) {
        const shown = JSON.stringify(prefix);
        const options = { prefix: prefix as string };
        await refused(`entries(${shown})`, "INVALID_ARGUMENT", "prefix", () => cfg.entries(options));
        await refused(`watch(${shown})`, "INVALID_ARGUMENT", "prefix", () => cfg.watch(options));
        await refused(`view(${shown})`, "INVALID_ARGUMENT", "prefix", () => cfg.view(options));
      }
      for (const name of ["", "a/b", "../x", "_hidden", " nova", "x".repeat(129), 7]) {
        await refused(`config(${JSON.stringify(name)})`, "INVALID_ARGUMENT", "name", () =>
          coord.config(name as string),
        );
      }
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      let deep: Json = 1;
      for (let i = 0; i < 40; i++) deep = [deep];
      const badValues: [string, unknown][] = [
        ["undefined", undefined],
        ["NaN", Number.NaN],
        ["Infinity", Number.POSITIVE_INFINITY],
        ["a bigint", 10n],
        ["a function", () => 1],
        ["a symbol", Symbol("s")],
        ["a Date", new Date()],
        ["a Map", new Map()],
        ["an undefined member", { a: undefined }],
        ["a circular object", circular],
        ["nesting 40 deep", deep],
        ["__proto__", JSON.parse('{"__proto__": 1}')],
        ["a lone surrogate", "\uD800"],
      ];
      for (const [what, value] of badValues) {
        for (const key of ["a/b", "fresh"]) {
          await refused(`set(${key}, ${what})`, "INVALID_ARGUMENT", "value", () =>
            cfg.set(key, value as Json),
          );
        }
      }
      await refused("a value one byte over the limit", "METADATA_TOO_LARGE", String(limit), () =>
        cfg.set("fresh", "x".repeat(limit - 1)),
      );
      await refused("a value over the limit, replacing one", "METADATA_TOO_LARGE", String(limit), () =>
        cfg.set("a/b", { long: "x".repeat(limit) }),
      );
      for (const ifVersion of [-1n, 1, "1", 1.5, null, {}]) {
        const shown = typeof ifVersion === "bigint" ? `${ifVersion}n` : JSON.stringify(ifVersion);
        const options = { ifVersion: ifVersion as bigint };
        await refused(`set with ifVersion ${shown}`, "INVALID_ARGUMENT", "ifversion", () =>
          cfg.set("a/b", 2, options),
        );
        await refused(`delete with ifVersion ${shown}`, "INVALID_ARGUMENT", "ifversion", () =>
          cfg.delete("a/b", options),
        );
      }
      await refused("delete with ifVersion 0n", "INVALID_ARGUMENT", "ifversion", () =>
        cfg.delete("a/b", { ifVersion: 0n }),
      );
      for (const options of ["x", 5, null, []]) {
        const shown = JSON.stringify(options);
        await refused(`set options ${shown}`, "INVALID_ARGUMENT", "options", () =>
          cfg.set("a/b", 2, options as never),
        );
        await refused(`delete options ${shown}`, "INVALID_ARGUMENT", "options", () =>
          cfg.delete("a/b", options as never),
        );
        await refused(`entries options ${shown}`, "INVALID_ARGUMENT", "options", () =>
          cfg.entries(options as never),
        );
      }
      await refused("a watch signal that is not an AbortSignal", "INVALID_ARGUMENT", "signal", () =>
        cfg.watch({ signal: "soon" as never }),
      );

      expect(entryLines((await cfg.entries()).entries), "nothing changed").toEqual(before);
      expect(await cfg.get("fresh")).toBeUndefined();
      expect(await coord.configs()).toEqual(storesBefore);
      // A value of exactly the limit is fine.
      const exact = "x".repeat(limit - 2);
      await cfg.set("fresh", exact);
      expect((await cfg.get("fresh"))?.value).toBe(exact);
    });

    if (h.options.security) {
      it("configuration errors carry no credentials", async () => {
        const target = await h.options.setup?.({ secure: true });
        if (!target?.security)
          throw new Error(`${h.options.name}: setup({ secure: true }) returned no security target`);
        const security = target.security;
        const exposure = new Exposure();
        let coord: Coordinator | undefined;
        try {
          const url = withParams(security.url, {
            namespace: randomId("ns"),
            sessionTimeout: h.sessionTimeout,
          });
          coord = await connect(url, { memberId: randomId("cfg"), logger: exposure.logger });
          const see = (where: string, value: unknown) => exposure.capture(where, value);
          if (h.characteristics.config === "none") {
            see("config() without a store", await rejection(() => coord?.config(STORE)));
          } else {
            const cfg = coord.config(STORE);
            see("a configuration", cfg);
            const version = await cfg.set("scheduler/max_attempts", 5);
            see("get()", await cfg.get("scheduler/max_attempts"));
            see("entries()", await cfg.entries());
            const lost = await rejection(() =>
              cfg.set("scheduler/max_attempts", 6, { ifVersion: version + 1000n }),
            );
            expect(lost.code).toBe("VERSION_MISMATCH");
            see("a lost compare-and-set", lost);
            see("a bad key", await rejection(() => cfg.get("../x")));
            see("a value too large", await rejection(() => cfg.set("big", "x".repeat(MAX_METADATA_BYTES))));
            const view = await cfg.view();
            see("a view", view);
            see("view.entries()", view.entries());
            await view.close();
            await coord.close();
            see("a call after close()", await rejection(() => cfg.get("scheduler/max_attempts")));
          }
        } finally {
          await coord?.close();
          await target.close?.();
        }
        const { username, password } = parseUrl(security.url);
        const secrets = [
          ...security.secrets,
          ...Object.values(security.env ?? {}),
          ...(username && password ? [`${username}:${password}`] : []),
        ];
        expect(exposure.leaks(secrets)).toEqual([]);
      }, 180_000);
    }
  });
}
