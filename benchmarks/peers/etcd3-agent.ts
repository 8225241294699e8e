/**
 * The etcd3 npm client's own get / put / watch as a peer of the config scenario, on the same etcd as
 * rollcall: what a user who keeps configuration in etcd with that client, and no rollcall, gets.
 *
 * - an entry is a plain key `<namespace>/<store>/<key>` holding the value's JSON, its version the key's
 *   `mod_revision`;
 * - a watcher reads the store with one prefix range read, then watches the prefix from the next revision;
 * - a compare-and-set is a get, then a transaction comparing `mod_revision` that puts on success.
 *
 * It answers the config scenario's commands (src/agents/config-protocol.ts) after `connect` ({ url, memberIds },
 * url `http://host:port/?namespace=…`: one client per member id). JSON-line commands on stdin, replies and
 * events on stdout (the harness's agent protocol).
 */
import { createInterface } from "node:readline";
import type {
  ConfigCasRequest,
  ConfigCasResult,
  ConfigGetResult,
  ConfigScaleRequest,
  ConfigScaleResult,
  ConfigSetRequest,
  ConfigSetsRequest,
  ConfigSetsResult,
  ConfigWatchRequest,
} from "../src/agents/config-protocol.js";
import { scaleKey, scaleValue } from "../src/agents/config-protocol.js";
import { mapLimit } from "../src/agents/limit.js";
import { now, randomInt, sleep } from "../src/clock.js";
import { type EtcdClient, type EtcdWatcher, loadEtcd3 } from "./etcd3-client.js";

function send(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const Etcd3 = loadEtcd3();

/** Where a peer URL points: the etcd endpoint and the key prefix of this run. */
function parsePeerUrl(url: string): { hosts: string[]; namespace: string } {
  const parsed = new URL(url);
  return { hosts: [parsed.origin], namespace: parsed.searchParams.get("namespace") ?? "bench" };
}

let namespace = "bench";
let hosts: string[] = [];
const clients = new Map<string, EtcdClient>();
const watchers: EtcdWatcher[] = [];

function client(memberId: string): EtcdClient {
  const c = clients.get(memberId);
  if (!c) throw new Error(`no client ${memberId} in this agent`);
  return c;
}

function storePrefix(ns: string, store: string): string {
  return `${ns}/${store}/`;
}

function keyOf(store: string, key: string): string {
  return `${storePrefix(namespace, store)}${key}`;
}

function connect(request: { url: string; memberIds: string[] }) {
  const startedAt = now();
  ({ hosts, namespace } = parsePeerUrl(request.url));
  for (const memberId of request.memberIds) clients.set(memberId, new Etcd3({ hosts }));
  return { startedAt, endedAt: now(), sessionTimeout: 0 };
}

/** A range read of the store, then a watch of its prefix from the next revision (created on the server). */
async function openWatch(
  c: EtcdClient,
  prefix: string,
  onPut: (kv: { key: Buffer; mod_revision: string }) => void,
): Promise<{ size: number; watcher: EtcdWatcher }> {
  const listing = await c.getAll().prefix(prefix).exec();
  const watcher = await c
    .watch()
    .prefix(prefix)
    .startRevision(String(BigInt(listing.header.revision) + 1n))
    .create();
  watcher.on("put", onPut);
  return { size: listing.kvs.length, watcher };
}

async function configWatch(request: ConfigWatchRequest) {
  const prefix = storePrefix(namespace, request.store);
  const { size, watcher } = await openWatch(client(request.memberId), prefix, (kv) => {
    const at = now();
    send({
      event: "config",
      type: "put",
      key: kv.key.toString().slice(prefix.length),
      version: kv.mod_revision,
      at,
    });
  });
  watcher.on("delete", (kv) =>
    send({
      event: "config",
      type: "delete",
      key: kv.key.toString().slice(prefix.length),
      version: kv.mod_revision,
      at: now(),
    }),
  );
  watcher.on("error", (error) =>
    send({ event: "error", where: "configWatch", message: message(error), at: now() }),
  );
  watchers.push(watcher);
  send({ event: "config", type: "snapshot", size, at: now() });
  return { size, at: now() };
}

async function configSets(request: ConfigSetsRequest): Promise<ConfigSetsResult> {
  const c = client(request.memberId);
  const key = keyOf(request.store, request.key);
  const sets: [string, number, number][] = [];
  for (let i = 0; i < request.count; i++) {
    await sleep(randomInt(request.maxGapMs + 1));
    const startedAt = now();
    const res = await c
      .put(key)
      .value(JSON.stringify({ n: i }))
      .exec();
    sets.push([res.header.revision, startedAt, now()]);
  }
  return { sets };
}

async function configSet(request: ConfigSetRequest) {
  const res = await client(request.memberId)
    .put(keyOf(request.store, request.key))
    .value(JSON.stringify(request.value))
    .exec();
  return { version: res.header.revision };
}

async function configGet(memberId: string, store: string, key: string): Promise<ConfigGetResult> {
  const res = await client(memberId).get(keyOf(store, key)).exec();
  const kv = res.kvs[0];
  return kv === undefined ? {} : { value: JSON.parse(kv.value.toString()), version: kv.mod_revision };
}

/** Every writer: get the counter, then a transaction that puts it + 1 if `mod_revision` is still the one read. */
async function configCas(request: ConfigCasRequest): Promise<ConfigCasResult> {
  const key = keyOf(request.store, request.key);
  const deadline = request.startAt + request.durationMs;
  await sleep(Math.max(0, request.startAt - now()));
  let conflicts = 0;
  let errors = 0;
  let firstError: string | undefined;
  const startedAt = now();
  const written = await Promise.all(
    request.memberIds.map(async (memberId) => {
      const c = client(memberId);
      const mine: number[] = [];
      while (now() < deadline) {
        // As rollcall's writers: one attempt per turn of the event loop.
        await new Promise((resolve) => setImmediate(resolve));
        try {
          const kv = (await c.get(key).exec()).kvs[0];
          const current = kv === undefined ? 0 : Number(JSON.parse(kv.value.toString()));
          const next = current + 1;
          const txn = await c
            .if(key, "Mod", "==", kv?.mod_revision ?? "0")
            .then(c.put(key).value(JSON.stringify(next)))
            .commit();
          if (txn.succeeded) mine.push(next);
          else conflicts++;
        } catch (error) {
          errors++;
          firstError ??= message(error);
          await sleep(20);
        }
      }
      return mine;
    }),
  );
  const successes = written.reduce((n, w) => n + w.length, 0);
  return {
    startedAt,
    endedAt: now(),
    successes,
    conflicts,
    errors,
    ...(firstError ? { firstError } : {}),
    written,
  };
}

/** As rollcall's configScale: load, then per repetition a new client's watch (range + watch) and a range read. */
async function configScale(request: ConfigScaleRequest): Promise<ConfigScaleResult> {
  const target = parsePeerUrl(request.url);
  const prefix = storePrefix(target.namespace, request.store);
  const result: ConfigScaleResult = {
    loadMs: 0,
    snapshotMs: [],
    snapshotSizes: [],
    entriesMs: [],
    entriesSizes: [],
  };
  const loaders = Array.from({ length: request.loaderSessions }, () => new Etcd3({ hosts: target.hosts }));
  try {
    const started = performance.now();
    const deadline = started + request.loadTimeoutMs;
    let written = 0;
    await mapLimit(
      Array.from({ length: request.keys }, (_, i) => i),
      request.loadConcurrency,
      async (i) => {
        if (performance.now() > deadline) {
          throw new Error(
            `wrote only ${written} of ${request.keys} keys within ${request.loadTimeoutMs / 1000} s`,
          );
        }
        const loader = loaders[i % loaders.length] as EtcdClient;
        await loader
          .put(`${prefix}${scaleKey(i)}`)
          .value(JSON.stringify(scaleValue(i)))
          .exec();
        written++;
      },
    );
    result.loadMs = performance.now() - started;
  } finally {
    for (const loader of loaders) loader.close();
  }
  for (let rep = 0; rep < request.repetitions; rep++) {
    const reader = new Etcd3({ hosts: target.hosts });
    try {
      // The connection itself is not counted (rollcall's readers are connected coordinators).
      await reader.get(`${prefix}-warm-up`).exec();
      const t = performance.now();
      const { size, watcher } = await openWatch(reader, prefix, () => {});
      result.snapshotMs.push(performance.now() - t);
      result.snapshotSizes.push(size);
      await watcher.cancel();
      const e = performance.now();
      const listing = await reader.getAll().prefix(prefix).exec();
      result.entriesMs.push(performance.now() - e);
      result.entriesSizes.push(listing.kvs.length);
    } finally {
      reader.close();
    }
  }
  return result;
}

async function handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
  switch (cmd) {
    case "connect":
      return connect(args as unknown as { url: string; memberIds: string[] });
    case "configWatch":
      return configWatch(args as unknown as ConfigWatchRequest);
    case "configSets":
      return configSets(args as unknown as ConfigSetsRequest);
    case "configSet":
      return configSet(args as unknown as ConfigSetRequest);
    case "configGet":
      return configGet(args.memberId as string, args.store as string, args.key as string);
    case "configCas":
      return configCas(args as unknown as ConfigCasRequest);
    case "configScale":
      return configScale(args as unknown as ConfigScaleRequest);
    case "close":
      await close();
      return {};
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

async function close(): Promise<void> {
  await Promise.all(watchers.splice(0).map((w) => w.cancel().catch(() => {})));
  for (const c of clients.values()) c.close();
  clients.clear();
}

process.on("unhandledRejection", (error) => {
  send({ event: "error", where: "unhandled", message: String(error), at: now() });
});

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  let request: { id: number; cmd: string } & Record<string, unknown>;
  try {
    request = JSON.parse(line);
  } catch {
    return;
  }
  handle(request.cmd, request).then(
    (result) => send({ id: request.id, ok: true, result }),
    (error: unknown) => send({ id: request.id, ok: false, error: message(error) }),
  );
});
lines.on("close", () => {
  const timer = setTimeout(() => process.exit(0), 5000);
  close().finally(() => {
    clearTimeout(timer);
    process.exit(0);
  });
});

send({ event: "ready", pid: process.pid, at: now() });
