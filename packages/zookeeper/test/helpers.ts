import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { COMMON_PARAMS, type Logger, parseUrl } from "@rollcall/core";
import type { DriverEvent, SessionListener, WatchListener } from "@rollcall/core/driver";
import { startZooKeeper, type ZooKeeperServer } from "@rollcall/servers";
import { ZooKeeperDriver } from "@rollcall/zookeeper";
import { afterAll, afterEach, beforeAll } from "vitest";

/** A fresh name for a namespace, group or member. */
export function fresh(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

export const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A driver straight from a URL, as core would create it (for driver-level tests). */
export function driverFor(
  url: string,
  options: { namespace: string; sessionTimeout?: number; memberId?: string },
): ZooKeeperDriver {
  const parsed = parseUrl(url);
  for (const key of COMMON_PARAMS) parsed.params.delete(key);
  return new ZooKeeperDriver({
    url: parsed,
    memberId: options.memberId ?? fresh("m"),
    namespace: options.namespace,
    sessionTimeout: options.sessionTimeout ?? 2000,
    logger: silent,
    maxMetadataBytes: 65_536,
  });
}

/** A session listener that records what the driver reports. */
export function sessionRecorder(): SessionListener & { states: string[]; renewals: number[] } {
  const states: string[] = [];
  const renewals: number[] = [];
  return { states, renewals, state: (s) => states.push(s), renewed: (at) => renewals.push(at) };
}

/** A watch listener that records events (as `join id`, `update id`, `leave id (reason)`). */
export function watchRecorder(): WatchListener & {
  events: DriverEvent[];
  lines: string[];
  resyncs: string[];
} {
  const events: DriverEvent[] = [];
  const lines: string[] = [];
  const resyncs: string[] = [];
  return {
    events,
    lines,
    resyncs,
    event: (e) => {
      events.push(e);
      lines.push(e.type === "leave" ? `leave ${e.memberId} (${e.reason})` : `${e.type} ${e.member.id}`);
    },
    resync: (why) => resyncs.push(why),
  };
}

/** Waits until `check` is true, polling, or throws naming what was awaited. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeout: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = performance.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) {
      throw new Error(
        `timed out after ${timeout} ms waiting for ${typeof what === "string" ? what : what()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw ZooKeeper client on the npm binding, for looking at znodes and acting as another user. */
export interface RawClient {
  call(method: string, ...args: unknown[]): Promise<{ rc: number; value: unknown[] }>;
  close(): void;
}

type Native = {
  init(c: object): void;
  close(): void;
  once(event: string, fn: () => void): void;
  [method: string]: unknown;
};

const require = createRequire(import.meta.url);

/** Connects a raw client; `digest` is `user:password`. */
export async function rawClient(connectString: string, digest?: string): Promise<RawClient> {
  const ZooKeeper = require("zookeeper") as new (config: object) => Native;
  const zk = new ZooKeeper({ connect: connectString, timeout: 4000, debug_level: 0 });
  const connected = new Promise<void>((resolve) => zk.once("connect", resolve));
  zk.init({});
  await connected;
  const client: RawClient = {
    call: (method, ...args) =>
      new Promise((resolve) => {
        const fn = zk[method] as (...a: unknown[]) => number;
        const ret = fn.call(zk, ...args, (rc: number, _error: string, ...value: unknown[]) =>
          resolve({ rc, value }),
        );
        if (ret !== 0) resolve({ rc: ret, value: [] });
      }),
    close: () => zk.close(),
  };
  if (digest !== undefined) {
    const auth = await client.call("add_auth", "digest", digest);
    if (auth.rc !== 0) throw new Error(`add_auth failed: ${auth.rc}`);
  }
  return client;
}

/** ZooKeeper return codes the tests look for. */
export const ZNONODE = -101;
export const ZNOAUTH = -102;

/**
 * Registers a test file's hooks: a standalone server for the whole file, and the drivers a test pushes
 * onto `drivers` closed after it.
 */
export function standaloneServer(): { readonly server: ZooKeeperServer; drivers: ZooKeeperDriver[] } {
  let server: ZooKeeperServer | undefined;
  const drivers: ZooKeeperDriver[] = [];
  beforeAll(async () => {
    server = await startZooKeeper({ nodes: 1 });
  }, 60_000);
  afterEach(async () => {
    await Promise.all(drivers.splice(0).map((d) => d.close()));
  });
  afterAll(() => server?.close());
  return {
    get server(): ZooKeeperServer {
      if (!server) throw new Error("the ZooKeeper server is not started yet");
      return server;
    },
    drivers,
  };
}
