import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import type { ConfigDriver, ConfigRecord } from "../src/driver/config-driver.js";
import type { DriverConfig, WatchHandle } from "../src/driver/driver.js";
import type {
  ConfigChange,
  ConfigChangeBatch,
  ConfigListing,
  ConfigWatchListener,
} from "../src/driver/index.js";
import { versionMismatch } from "../src/errors/config-errors.js";
import {
  type ConfigEvent,
  type Coordinator,
  connect,
  type Json,
  MAX_CONFIG_KEY_LENGTH,
  RollcallError,
} from "../src/index.js";
import { registerBackend } from "../src/registry.js";
import "./support/register.js";
import { TestDriver, TestServer } from "./support/test-driver.js";

type Operation = "get" | "put" | "remove" | "list" | "stores" | "watch" | "changes";

interface OpenWatch {
  namespace: string;
  store: string;
  prefix: string;
  listener: ConfigWatchListener;
}

/**
 * The "server" of the configuration tests: in-memory stores of every namespace, one revision counter,
 * a change log, and what the tests steer — calls counted per operation, the next call failing, watch
 * delivery held back, a compacted log.
 */
class ConfigServer {
  revision = 0n;
  readonly records = new Map<string, ConfigRecord>();
  readonly log: { namespace: string; store: string; change: ConfigChange }[] = [];
  readonly watches = new Set<OpenWatch>();
  readonly calls: Record<Operation, number> = {
    get: 0,
    put: 0,
    remove: 0,
    list: 0,
    stores: 0,
    watch: 0,
    changes: 0,
  };
  /** The values `put` received, as received. */
  readonly received: Json[] = [];
  /** The next call throws this. */
  failNext: unknown;
  /** While set, watches get nothing (a connection that silently lost its subscription). */
  muted = false;
  /** The next `changes()` answers `resync` (its log no longer reaches back). */
  compactNext = false;

  private id(namespace: string, store: string, key: string): string {
    return `${namespace}\u0000${store}\u0000${key}`;
  }

  call(operation: Operation): void {
    this.calls[operation]++;
    const failure = this.failNext;
    if (failure !== undefined) {
      this.failNext = undefined;
      throw failure;
    }
  }

  get(namespace: string, store: string, key: string): ConfigRecord | undefined {
    const record = this.records.get(this.id(namespace, store, key));
    return record === undefined ? undefined : structuredClone(record);
  }

  put(namespace: string, store: string, key: string, value: Json, ifVersion?: bigint): ConfigRecord {
    this.received.push(value);
    const existing = this.records.get(this.id(namespace, store, key));
    if (ifVersion !== undefined && (existing?.version ?? 0n) !== ifVersion)
      throw versionMismatch(store, key, ifVersion, existing?.version);
    const revision = ++this.revision;
    const record: ConfigRecord = {
      key,
      value: structuredClone(value),
      version: revision,
      updatedAt: new Date(),
    };
    this.records.set(this.id(namespace, store, key), record);
    this.publish(namespace, store, { type: "put", entry: structuredClone(record), revision });
    return structuredClone(record);
  }

  remove(namespace: string, store: string, key: string, ifVersion?: bigint): boolean {
    const existing = this.records.get(this.id(namespace, store, key));
    if (ifVersion !== undefined && existing?.version !== ifVersion)
      throw versionMismatch(store, key, ifVersion, existing?.version);
    if (existing === undefined) return false;
    this.records.delete(this.id(namespace, store, key));
    this.publish(namespace, store, { type: "delete", key, revision: ++this.revision });
    return true;
  }

  list(namespace: string, store: string, prefix: string): ConfigListing {
    const start = this.id(namespace, store, prefix);
    const entries = [...this.records]
      .filter(([id]) => id.startsWith(start))
      .map(([, record]) => structuredClone(record));
    return { entries, revision: this.revision };
  }

  stores(namespace: string): string[] {
    return [...this.records.keys()]
      .filter((id) => id.startsWith(`${namespace}\u0000`))
      .map((id) => id.split("\u0000")[1] as string);
  }

  private publish(namespace: string, store: string, change: ConfigChange): void {
    this.log.push({ namespace, store, change });
    this.deliver(namespace, store, change);
  }

  /** Sends `change` to the watches of the store (as a driver would, later), unless muted. */
  deliver(namespace: string, store: string, change: ConfigChange): void {
    if (this.muted) return;
    const key = change.type === "put" ? change.entry.key : change.key;
    for (const watch of this.watches) {
      if (watch.namespace === namespace && watch.store === store && key.startsWith(watch.prefix))
        queueMicrotask(() => watch.listener.change(structuredClone(change)));
    }
  }

  /** Tells every open watch that continuity was lost. */
  resyncAll(reason: string): void {
    for (const watch of [...this.watches]) watch.listener.resync(reason);
  }

  changes(namespace: string, store: string, prefix: string, since: bigint): ConfigChangeBatch {
    if (this.compactNext) {
      this.compactNext = false;
      return { resync: "compacted" };
    }
    const changes = this.log
      .filter((l) => l.namespace === namespace && l.store === store && l.change.revision > since)
      .map((l) => l.change)
      .filter((c) => (c.type === "put" ? c.entry.key : c.key).startsWith(prefix));
    return { changes: structuredClone(changes), revision: this.revision };
  }
}

const server = new ConfigServer();

/** A coordinator's view of {@link server}: every call counted and subject to `failNext`. */
class ServerConfig implements ConfigDriver {
  constructor(protected readonly namespace: string) {}

  async get(store: string, key: string): Promise<ConfigRecord | undefined> {
    server.call("get");
    return server.get(this.namespace, store, key);
  }

  async put(store: string, key: string, value: Json, ifVersion?: bigint): Promise<ConfigRecord> {
    server.call("put");
    return server.put(this.namespace, store, key, value, ifVersion);
  }

  async remove(store: string, key: string, ifVersion?: bigint): Promise<boolean> {
    server.call("remove");
    return server.remove(this.namespace, store, key, ifVersion);
  }

  async list(store: string, prefix: string): Promise<ConfigListing> {
    server.call("list");
    return server.list(this.namespace, store, prefix);
  }

  async stores(): Promise<string[]> {
    server.call("stores");
    return server.stores(this.namespace);
  }
}

/** Push watches. */
class PushConfig extends ServerConfig {
  async watch(
    store: string,
    prefix: string,
    fromRevision: bigint,
    listener: ConfigWatchListener,
  ): Promise<WatchHandle> {
    server.call("watch");
    const watch: OpenWatch = { namespace: this.namespace, store, prefix, listener };
    for (const { namespace, store: s, change } of server.log) {
      if (namespace === this.namespace && s === store && change.revision > fromRevision)
        server.deliver(namespace, store, change);
    }
    server.watches.add(watch);
    return { close: async () => void server.watches.delete(watch) };
  }
}

/** A change log polled. */
class PollConfig extends ServerConfig {
  async changes(store: string, prefix: string, sinceRevision: bigint): Promise<ConfigChangeBatch> {
    server.call("changes");
    return server.changes(this.namespace, store, prefix, sinceRevision);
  }
}

const drivers = new Map<string, TestDriver>();
const sessions = new TestServer();

function configDriver(config: DriverConfig, store: ConfigDriver): TestDriver {
  const driver = new TestDriver(sessions, config);
  driver.characteristics = { ...driver.characteristics, config: "volatile" };
  Object.defineProperty(driver, "configStore", { value: store });
  drivers.set(config.memberId, driver);
  return driver;
}

registerBackend({
  name: "configtest",
  schemes: ["cfgpush", "cfgpoll"],
  defaultSessionTimeout: 1000,
  defaultRetryInterval: 50,
  create: (config: DriverConfig) =>
    configDriver(
      config,
      config.url.scheme === "cfgpoll" ? new PollConfig(config.namespace) : new PushConfig(config.namespace),
    ),
});

let n = 0;
const open: Coordinator[] = [];

/** A coordinator in a namespace of its own (or `namespace`), closed after the test. */
async function coordinator(
  options: { scheme?: string; namespace?: string; query?: string; auth?: string } = {},
): Promise<Coordinator> {
  const namespace = options.namespace ?? `ns${++n}`;
  const url = `${options.scheme ?? "cfgpush"}://${options.auth ?? ""}host?namespace=${namespace}&pollInterval=20${options.query ?? ""}`;
  const coord = await connect(url, { memberId: `c${++n}` });
  open.push(coord);
  return coord;
}

async function rejection(attempt: () => unknown): Promise<RollcallError> {
  try {
    await attempt();
  } catch (error) {
    if (RollcallError.isInstance(error)) return error;
    throw new Error(`expected a RollcallError, got ${String(error)}`);
  }
  throw new Error("expected the call to fail, but it succeeded");
}

async function until(check: () => boolean, what: string, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Records a watch's events. */
function record(coord: Coordinator, store: string, options: { prefix?: string } = {}) {
  const events: ConfigEvent[] = [];
  const controller = new AbortController();
  let failure: unknown;
  const done = (async () => {
    try {
      for await (const event of coord.config(store).watch({ ...options, signal: controller.signal }))
        events.push(event);
    } catch (error) {
      failure = error;
    }
  })();
  return {
    events,
    summary: () =>
      events.map((e) =>
        e.type === "snapshot"
          ? `snapshot ${e.entries.map((x) => `${x.key}@${x.version}`).join(",")}`
          : e.type === "put"
            ? `put ${e.entry.key}@${e.entry.version}${e.resync ? " resync" : ""}`
            : `delete ${e.key}${e.resync ? " resync" : ""}`,
      ),
    failure: () => failure,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

function calls(): Record<Operation, number> {
  return { ...server.calls };
}

afterEach(async () => {
  server.muted = false;
  server.failNext = undefined;
  server.compactNext = false;
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

describe("configuration: a backend without a store", () => {
  it("config() and configs() say NOT_SUPPORTED, naming the backend; names are still checked first", async () => {
    const coord = await connect("test://x", { memberId: `none${++n}` });
    open.push(coord);
    const error = await rejection(() => coord.config("nova"));
    expect(error.code).toBe("NOT_SUPPORTED");
    expect(error.message).toContain("test");
    expect(error.message).toContain('characteristics.config is "none"');
    expect((await rejection(() => coord.configs())).code).toBe("NOT_SUPPORTED");
    expect((await rejection(() => coord.config("a/b"))).code).toBe("INVALID_ARGUMENT");
  });
});

describe("configuration: input is checked before any I/O and nothing is written", () => {
  it("refuses bad keys with INVALID_ARGUMENT naming the key, on get, set and delete", async () => {
    const coord = await coordinator();
    const cfg = coord.config("nova");
    const before = calls();
    for (const key of [
      "",
      "/a",
      "a/",
      "a//b",
      "..",
      "../x",
      "a/./b",
      ".a",
      "-a",
      "_a",
      "a b",
      "a*",
      "a\u0000",
      "é",
      "x".repeat(129),
      `${"x".repeat(128)}/${"y".repeat(128)}`,
    ]) {
      for (const attempt of [() => cfg.get(key), () => cfg.set(key, 1), () => cfg.delete(key)]) {
        const error = await rejection(attempt);
        expect(error.code, key).toBe("INVALID_ARGUMENT");
        expect(error.message).toContain("configuration key");
        expect(error.message).toContain(JSON.stringify(key).slice(0, 40));
        expect(error.key).toBe(key);
      }
    }
    for (const key of [5, null, undefined, {}]) {
      const error = await rejection(() => cfg.set(key as unknown as string, 1));
      expect(error.code).toBe("INVALID_ARGUMENT");
      expect(error.message).toContain("configuration key");
      expect(error.key).toBeUndefined();
    }
    expect(calls()).toEqual(before);
  });

  it("accepts keys of the rule up to the longest", async () => {
    const coord = await coordinator();
    const cfg = coord.config("nova");
    const longest = `${"k".repeat(128)}/${"v".repeat(MAX_CONFIG_KEY_LENGTH - 129)}`;
    expect(longest).toHaveLength(MAX_CONFIG_KEY_LENGTH);
    for (const key of ["a", "a/b/c", "A-1.b_c:d@e/0", "9", longest]) {
      const version = await cfg.set(key, key);
      expect(await cfg.get(key)).toMatchObject({ key, value: key, version });
    }
  });

  it("refuses bad prefixes with INVALID_ARGUMENT naming the prefix", async () => {
    const coord = await coordinator();
    const cfg = coord.config("nova");
    const before = calls();
    for (const prefix of ["a b", "*", "a\n", "é", "x".repeat(MAX_CONFIG_KEY_LENGTH + 1), 5, null]) {
      const options = { prefix: prefix as string };
      for (const attempt of [() => cfg.entries(options), () => cfg.watch(options), () => cfg.view(options)]) {
        const error = await rejection(attempt);
        expect(error.code).toBe("INVALID_ARGUMENT");
        expect(error.message).toContain("configuration prefix");
      }
    }
    expect(calls()).toEqual(before);
    // A prefix may end inside a segment or with "/".
    await cfg.set("scheduler/a", 1);
    expect((await cfg.entries({ prefix: "sched" })).entries).toHaveLength(1);
    expect((await cfg.entries({ prefix: "scheduler/" })).entries).toHaveLength(1);
    expect((await cfg.entries({ prefix: "" })).entries).toHaveLength(1);
  });

  it("refuses bad store names with INVALID_ARGUMENT naming the name", async () => {
    const coord = await coordinator();
    for (const name of ["", "a/b", "_x", "..", "a b", "x".repeat(129), 1]) {
      const error = await rejection(() => coord.config(name as string));
      expect(error.code).toBe("INVALID_ARGUMENT");
      expect(error.message).toContain("configuration name");
    }
  });

  it("refuses values that are not JSON with INVALID_ARGUMENT naming where, and too-large ones with METADATA_TOO_LARGE", async () => {
    const coord = await coordinator({ query: "&maxMetadataBytes=100" });
    const cfg = coord.config("nova");
    const v = await cfg.set("kept", "original");
    const before = calls();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const cases: [unknown, string][] = [
      [undefined, "use delete()"],
      [Number.NaN, "numbers must be finite"],
      [{ a: { b: Number.POSITIVE_INFINITY } }, "the configuration value.a.b"],
      [[1, 2n], "the configuration value[1] is a bigint"],
      [{ f: () => 1 }, "the configuration value.f is a function"],
      [new Date(0), "not a plain object"],
      [{ a: undefined }, "the configuration value.a is a undefined"],
      [circular, "nests deeper than"],
      [JSON.parse('{"__proto__": 1}'), '"__proto__"'],
      [{ s: "\uDC00" }, "lone surrogate"],
    ];
    for (const [value, says] of cases) {
      for (const key of ["kept", "fresh"]) {
        const error = await rejection(() => cfg.set(key, value as Json));
        expect(error.code, says).toBe("INVALID_ARGUMENT");
        expect(error.message).toContain(says);
      }
    }
    const large = await rejection(() => cfg.set("fresh", "x".repeat(99)));
    expect(large.code).toBe("METADATA_TOO_LARGE");
    expect(large.message).toContain("101 bytes");
    expect(large.message).toContain("100 bytes");
    expect(calls()).toEqual(before);
    expect(await cfg.get("kept")).toMatchObject({ value: "original", version: v });
    expect(await cfg.get("fresh")).toBeUndefined();
    // Exactly the limit is fine.
    await cfg.set("fresh", "x".repeat(98));
  });

  it("refuses bad ifVersion and options with INVALID_ARGUMENT naming them; 0n means absent only for set", async () => {
    const coord = await coordinator();
    const cfg = coord.config("nova");
    const v = await cfg.set("k", 1);
    const before = calls();
    for (const ifVersion of [-1n, 1, "1", 1.5, null, {}]) {
      const options = { ifVersion: ifVersion as bigint };
      for (const attempt of [() => cfg.set("k", 2, options), () => cfg.delete("k", options)]) {
        const error = await rejection(attempt);
        expect(error.code).toBe("INVALID_ARGUMENT");
        expect(error.message).toContain("ifVersion");
      }
    }
    const zero = await rejection(() => cfg.delete("k", { ifVersion: 0n }));
    expect(zero.code).toBe("INVALID_ARGUMENT");
    expect(zero.message).toContain("≥ 1n");
    expect(zero.message).toContain("0n");
    for (const options of ["x", 1, null, [], true]) {
      for (const [what, attempt] of [
        ["set options", () => cfg.set("k", 2, options as never)],
        ["delete options", () => cfg.delete("k", options as never)],
        ["entries options", () => cfg.entries(options as never)],
        ["watch options", () => cfg.watch(options as never)],
        ["view options", () => cfg.view(options as never)],
      ] as const) {
        const error = await rejection(attempt);
        expect(error.code, what).toBe("INVALID_ARGUMENT");
        expect(error.message).toContain(what);
      }
    }
    expect((await rejection(() => cfg.watch({ signal: {} as AbortSignal }))).message).toContain(
      "AbortSignal",
    );
    expect(calls()).toEqual(before);
    expect(await cfg.get("k")).toMatchObject({ value: 1, version: v });
  });

  it("hands the driver a detached copy of the value", async () => {
    const coord = await coordinator();
    const cfg = coord.config("nova");
    const value = { list: [1, 2], nested: { a: "b" } };
    await cfg.set("k", value);
    const received = server.received.at(-1);
    expect(received).toEqual(value);
    expect(received).not.toBe(value);
    value.list.push(3);
    expect((await cfg.get("k"))?.value).toEqual({ list: [1, 2], nested: { a: "b" } });
  });
});

describe("configuration: the API over a driver", () => {
  it("get, set, delete and entries; versions grow per key, also across a delete and re-create", async () => {
    const coord = await coordinator();
    const cfg = coord.config("nova");
    expect(cfg.name).toBe("nova");
    expect(await cfg.get("a")).toBeUndefined();
    const v1 = await cfg.set("a", { n: 1 });
    const entry = await cfg.get("a");
    expect(entry).toMatchObject({ key: "a", value: { n: 1 }, version: v1 });
    expect(entry?.updatedAt).toBeInstanceOf(Date);
    const v2 = await cfg.set("a", { n: 2 });
    expect(v2).toBeGreaterThan(v1);
    expect(await cfg.delete("a")).toBe(true);
    expect(await cfg.delete("a")).toBe(false);
    const v3 = await cfg.set("a", 3);
    expect(v3).toBeGreaterThan(v2);
    await cfg.set("b/z", 1);
    await cfg.set("b/c", 2);
    const all = await cfg.entries();
    expect(all.entries.map((e) => e.key)).toEqual(["a", "b/c", "b/z"]);
    expect(all.revision).toBeGreaterThanOrEqual(v3);
    expect((await cfg.entries({ prefix: "b/" })).entries.map((e) => e.key)).toEqual(["b/c", "b/z"]);
  });

  it("a lost compare-and-set is VERSION_MISMATCH carrying the key and the version found, passed through as the driver threw it", async () => {
    const coord = await coordinator();
    const cfg = coord.config("nova");
    const v1 = await cfg.set("k", 1, { ifVersion: 0n });
    const present = await rejection(() => cfg.set("k", 2, { ifVersion: 0n }));
    expect(present).toMatchObject({ code: "VERSION_MISMATCH", key: "k", version: v1 });
    expect(present.message).toBe(
      `configuration "nova": expected key "k" to be absent, but it is at version ${v1}`,
    );
    const stale = await rejection(() => cfg.set("k", 2, { ifVersion: v1 + 5n }));
    expect(stale).toMatchObject({ code: "VERSION_MISMATCH", key: "k", version: v1 });
    expect(stale.message).toContain(`at version ${v1 + 5n}`);
    const v2 = await cfg.set("k", 2, { ifVersion: v1 });
    expect(await rejection(() => cfg.delete("k", { ifVersion: v1 }))).toMatchObject({
      code: "VERSION_MISMATCH",
      version: v2,
    });
    expect(await cfg.delete("k", { ifVersion: v2 })).toBe(true);
    const absent = await rejection(() => cfg.delete("k", { ifVersion: v2 }));
    expect(absent).toMatchObject({ code: "VERSION_MISMATCH", key: "k" });
    expect(absent.version).toBeUndefined();
    expect(absent.message).toContain("it is absent");
    expect(await cfg.get("k")).toBeUndefined();
  });

  it("a foreign driver error becomes CONNECTION naming the operation, the redacted URL and the key, never the password", async () => {
    const coord = await coordinator({ auth: "app:hunter2secret@" });
    const cfg = coord.config("nova");
    server.failNext = new Error("socket hang up");
    const error = await rejection(() => cfg.set("scheduler/x", 1));
    expect(error.code).toBe("CONNECTION");
    expect(error.message).toContain("config set");
    expect(error.message).toContain("socket hang up");
    expect(error.key).toBe("scheduler/x");
    expect((error.cause as Error).message).toBe("socket hang up");
    expect(inspect(error, { depth: 8 })).not.toContain("hunter2secret");
    server.failNext = new Error("down");
    const listing = await rejection(() => coord.configs());
    expect(listing.code).toBe("CONNECTION");
    expect(listing.message).not.toContain("hunter2secret");
  });

  it("configs() lists the stores holding entries, sorted, once each", async () => {
    const coord = await coordinator();
    expect(await coord.configs()).toEqual([]);
    await coord.config("nova").set("a", 1);
    await coord.config("nova").set("b", 1);
    await coord.config("glance").set("a", 1);
    expect(await coord.configs()).toEqual(["glance", "nova"]);
    await coord.config("glance").delete("a");
    expect(await coord.configs()).toEqual(["nova"]);
    const other = await coordinator();
    expect(await other.configs(), "another namespace").toEqual([]);
  });

  it("after close(), config(), configs() and a store's calls say NOT_CONNECTED", async () => {
    const coord = await coordinator();
    const cfg = coord.config("nova");
    await coord.close();
    expect((await rejection(() => coord.config("nova"))).code).toBe("NOT_CONNECTED");
    expect((await rejection(() => coord.configs())).code).toBe("NOT_CONNECTED");
    expect((await rejection(() => cfg.get("a"))).code).toBe("NOT_CONNECTED");
    expect((await rejection(() => cfg.set("a", 1))).code).toBe("NOT_CONNECTED");
    expect((await rejection(() => cfg.watch())).code).toBe("NOT_CONNECTED");
  });

  it("a configuration and its view show their names and nothing of the coordinator (its driver holds credentials)", async () => {
    const coord = await coordinator({ auth: "app:hunter2secret@" });
    const cfg = coord.config("nova");
    expect(String(cfg)).toBe("Configuration(nova)");
    expect(inspect(cfg, { depth: 12, getters: true })).toBe("Configuration(nova)");
    expect(JSON.stringify(cfg)).toBe('"Configuration(nova)"');
    await cfg.set("a", 1);
    const view = await cfg.view();
    expect(inspect(view, { depth: 12, getters: true })).toBe("ConfigView(nova, 1 entries)");
    expect(JSON.stringify(view)).toBe('"ConfigView(nova, 1 entries)"');
    await view.close();
  });
});

describe("configuration: watch and view", () => {
  it("a watch yields a snapshot, then put and delete in order; a prefix watch sees only its keys", async () => {
    const writer = await coordinator();
    const cfg = writer.config("nova");
    const v1 = await cfg.set("a", 1);
    const all = record(writer, "nova");
    const scoped = record(writer, "nova", { prefix: "s/" });
    await until(() => all.events.length === 1 && scoped.events.length === 1, "the snapshots");
    const v2 = await cfg.set("s/x", 2);
    const v3 = await cfg.set("a", 3);
    await cfg.delete("s/x");
    await until(() => all.events.length === 4, "three events");
    expect(all.summary()).toEqual([`snapshot a@${v1}`, `put s/x@${v2}`, `put a@${v3}`, "delete s/x"]);
    expect(all.events.every((e) => e.config === "nova")).toBe(true);
    await until(() => scoped.events.length === 3, "the prefix watch's events");
    expect(scoped.summary()).toEqual(["snapshot ", `put s/x@${v2}`, "delete s/x"]);
    const snapshot = all.events[0];
    expect(snapshot?.type === "snapshot" && snapshot.revision).toBeGreaterThanOrEqual(v1);
    await all.stop();
    await scoped.stop();
    expect(server.watches.size, "the driver's watches are closed when the last user lets go").toBe(0);
  });

  it("breaking out of a watch ends it and releases the driver's watch", async () => {
    const coord = await coordinator();
    await coord.config("nova").set("a", 1);
    for await (const event of coord.config("nova").watch()) {
      expect(event.type).toBe("snapshot");
      break;
    }
    expect(server.watches.size).toBe(0);
  });

  it("a view answers get/value/has/size/entries without I/O and follows changes; watches and views share one feed", async () => {
    const coord = await coordinator();
    const cfg = coord.config("nova");
    const v1 = await cfg.set("scheduler/max_attempts", 5);
    await cfg.set("other", true);
    const listsBefore = server.calls.list;
    const watchesBefore = server.calls.watch;
    const view = await cfg.view();
    const second = await coord.config("nova").view();
    const watch = record(coord, "nova");
    await until(() => watch.events.length === 1, "the snapshot");
    expect(server.calls.list - listsBefore, "one listing for every user of the store").toBe(1);
    expect(server.calls.watch - watchesBefore, "one driver watch").toBe(1);

    const before = calls();
    expect(view.get("scheduler/max_attempts")).toMatchObject({ value: 5, version: v1 });
    expect(view.value("scheduler/max_attempts")).toBe(5);
    expect(view.value<number>("missing", 3)).toBe(3);
    expect(view.value("missing")).toBeUndefined();
    expect(view.has("other")).toBe(true);
    expect(view.has("missing")).toBe(false);
    expect(view.size).toBe(2);
    expect(view.entries().map((e) => e.key)).toEqual(["other", "scheduler/max_attempts"]);
    expect(view.revision).toBeGreaterThanOrEqual(v1);
    expect(view.name).toBe("nova");
    expect(view.prefix).toBe("");
    expect(calls(), "reads of a view do no I/O").toEqual(before);

    const changes: string[] = [];
    view.on("change", (e) => changes.push(e.type));
    const v2 = await cfg.set("scheduler/max_attempts", 6);
    await until(() => view.value("scheduler/max_attempts") === 6, "the view to follow");
    expect(view.get("scheduler/max_attempts")?.version).toBe(v2);
    await cfg.delete("other");
    await until(() => !view.has("other"), "the delete in the view");
    expect(changes).toEqual(["put", "delete"]);
    expect(String(view)).toBe("ConfigView(nova, 1 entries)");
    await view.close();
    expect(view.get("scheduler/max_attempts")).toBeUndefined();
    expect(view.size).toBe(0);
    expect(second.value("scheduler/max_attempts"), "another view of the feed goes on").toBe(6);
    await second.close();
    await watch.stop();
    expect(server.watches.size).toBe(0);
  });

  it("ignores changes at or below the revision seen and never lets a key's version go back", async () => {
    const namespace = `replay${++n}`;
    const coord = await coordinator({ namespace });
    const cfg = coord.config("nova");
    const v1 = await cfg.set("a", 1);
    const watch = record(coord, "nova");
    await until(() => watch.events.length === 1, "the snapshot");
    const v2 = await cfg.set("a", 2);
    await until(() => watch.events.length === 2, "the put");
    // A driver replaying old changes, and an old version of a key under a new revision.
    const later = ++server.revision;
    server.deliver(namespace, "nova", {
      type: "put",
      entry: { key: "a", value: 1, version: v1, updatedAt: new Date() },
      revision: v1,
    });
    server.deliver(namespace, "nova", {
      type: "put",
      entry: { key: "a", value: 0, version: v1, updatedAt: new Date() },
      revision: later,
    });
    server.deliver(namespace, "nova", { type: "delete", key: "a", revision: v2 });
    const v3 = await cfg.set("b", 3);
    expect(v3).toBeGreaterThan(later);
    await until(() => watch.events.some((e) => e.type === "put" && e.entry.key === "b"), "the put of b");
    expect(watch.summary()).toEqual([`snapshot a@${v1}`, `put a@${v2}`, `put b@${v3}`]);
    await watch.stop();
  });

  it("after a driver's resync it re-lists and reports the difference (marked resync) and a snapshot, then goes on", async () => {
    const coord = await coordinator();
    const cfg = coord.config("nova");
    const kept = await cfg.set("keep", 1);
    await cfg.set("gone", 1);
    const v1 = await cfg.set("changed", 1);
    const watch = record(coord, "nova");
    const view = await cfg.view();
    await until(() => watch.events.length === 1, "the snapshot");
    server.muted = true;
    const v2 = await cfg.set("changed", 2);
    await cfg.delete("gone");
    const v3 = await cfg.set("new", 1);
    server.muted = false;
    expect(view.value("changed"), "nothing delivered while muted").toBe(1);
    server.resyncAll("compacted");
    await until(() => watch.events.filter((e) => e.type === "snapshot").length === 2, "the second snapshot");
    expect(watch.summary().slice(1)).toEqual([
      "delete gone resync",
      `put changed@${v2} resync`,
      `put new@${v3} resync`,
      `snapshot changed@${v2},keep@${kept},new@${v3}`,
    ]);
    expect(v2).toBeGreaterThan(v1);
    expect(view.value("changed")).toBe(2);
    expect(view.has("gone")).toBe(false);
    const v4 = await cfg.set("after", 1);
    await until(() => view.has("after"), "a change after the resync");
    expect(watch.summary().at(-1)).toBe(`put after@${v4}`);
    await view.close();
    await watch.stop();
  });

  it("resynchronises when the session is re-opened", async () => {
    const coord = await coordinator();
    const cfg = coord.config("nova");
    await cfg.set("a", 1);
    const view = await cfg.view();
    server.muted = true;
    await cfg.set("a", 2);
    server.muted = false;
    expect(view.value("a")).toBe(1);
    const driver = drivers.get(coord.memberId);
    driver?.expire();
    await until(() => view.value("a") === 2, "the view to resynchronise after the session re-opened");
    await view.close();
  });

  it("follows a polled change log, and re-lists when the log no longer reaches back", async () => {
    const coord = await coordinator({ scheme: "cfgpoll" });
    const cfg = coord.config("nova");
    const v1 = await cfg.set("a", 1);
    const watch = record(coord, "nova");
    await until(() => watch.events.length === 1, "the snapshot");
    const v2 = await cfg.set("a", 2);
    await cfg.delete("a");
    const v3 = await cfg.set("b", 1);
    await until(() => watch.events.length === 4, "three polled changes");
    expect(watch.summary()).toEqual([`snapshot a@${v1}`, `put a@${v2}`, "delete a", `put b@${v3}`]);
    server.compactNext = true;
    const v4 = await cfg.set("b", 2);
    await until(() => watch.events.filter((e) => e.type === "snapshot").length === 2, "a re-listing");
    expect(watch.summary().slice(4)).toEqual([`put b@${v4} resync`, `snapshot b@${v4}`]);
    expect(watch.failure()).toBeUndefined();
    await watch.stop();
  });
});
