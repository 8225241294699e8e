import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { eventually, fresh, standaloneServer } from "./helpers.js";

// The binding's close (patches/zookeeper@7.3.0.patch, hunk 5): zookeeper_close() on a connected handle
// waits for the server's answer to the close request, blocking the event loop — up to 1.5 s in the C
// client when the server does not answer. The patched binding bounds that wait (250 ms); the session must
// still be closed by the server, so its ephemeral znodes go at once, not a session timeout later.
const zk = standaloneServer();

type Native = {
  init(config: object): void;
  close(): void;
  once(event: string, fn: () => void): void;
  a_create(path: string, data: string, flags: number, cb: (rc: number) => void): number;
  a_exists(path: string, watch: boolean, cb: (rc: number) => void): number;
};
type NativeClass = (new (
  config: object,
) => Native) & {
  constants: { ZOO_EPHEMERAL: number; ZNONODE: number };
};

const require = createRequire(import.meta.url);
const ZooKeeper = require("zookeeper") as NativeClass;
// The server clamps it to 20 × tickTime (10 s here): far longer than anything measured below.
const SESSION_TIMEOUT = 10_000;

async function connected(): Promise<Native> {
  const client = new ZooKeeper({
    connect: zk.server.connectionString,
    timeout: SESSION_TIMEOUT,
    debug_level: 0,
  });
  const up = new Promise<void>((resolve) => client.once("connect", resolve));
  client.init({});
  await up;
  return client;
}

function call(start: (cb: (rc: number) => void) => number): Promise<number> {
  return new Promise((resolve) => {
    const rc = start(resolve);
    if (rc !== 0) resolve(rc);
  });
}

async function exists(client: Native, path: string): Promise<boolean> {
  const rc = await call((cb) => client.a_exists(path, false, cb));
  if (rc !== 0 && rc !== ZooKeeper.constants.ZNONODE) throw new Error(`exists ${path}: ${rc}`);
  return rc === 0;
}

/** Whether every thread of process `pid` is stopped (SIGSTOP reaches a JVM's threads one by one). */
function stopped(pid: number): boolean {
  return readdirSync(`/proc/${pid}/task`).every((task) => {
    const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "T" || state === "t";
  });
}

describe("binding: closing a session", () => {
  it("on a healthy server: the session's ephemeral znode is gone as soon as close() returns", async () => {
    const observer = await connected();
    const owner = await connected();
    try {
      const path = `/${fresh("close-healthy")}`;
      expect(await call((cb) => owner.a_create(path, "x", ZooKeeper.constants.ZOO_EPHEMERAL, cb))).toBe(0);
      owner.close();
      // The C client returned from zookeeper_close() once the server had answered the close request: the
      // session, and with it the znode, is gone already (a session left to expire would keep it ~10 s).
      await eventually(async () => !(await exists(observer, path)), 2000, "the ephemeral znode deleted");
    } finally {
      observer.close();
    }
  });

  // zookeeper_close() runs at once when called from a macrotask; called from JavaScript inside one of the
  // C client's calls (here: the completion of the create), the C client completes it when that call
  // returns. Either way the event loop is held until the next macrotask, which is what is measured.
  for (const where of ["from a macrotask", "inside a completion"] as const) {
    it(`on a frozen server, closed ${where}: the event loop is held < 1 s (the C client alone waited 1.5 s), and the server closes the session when it thaws`, async () => {
      const observer = await connected();
      const owner = await connected();
      const node = zk.server.nodes[0];
      if (!node) throw new Error("no server node");
      const path = `/${fresh("close-frozen")}`;
      let held = Number.NaN;
      try {
        if (where === "from a macrotask") {
          expect(await call((cb) => owner.a_create(path, "x", ZooKeeper.constants.ZOO_EPHEMERAL, cb))).toBe(
            0,
          );
          node.pause();
          await eventually(() => stopped(node.pid), 5000, "the server stopped");
          const began = performance.now();
          owner.close();
          await new Promise((resolve) => setImmediate(resolve));
          held = performance.now() - began;
        } else {
          const closed = new Promise<number>((resolve, reject) => {
            const rc = owner.a_create(path, "x", ZooKeeper.constants.ZOO_EPHEMERAL, (created) => {
              if (created !== 0) return reject(new Error(`create: ${created}`));
              node.pause();
              const deadline = performance.now() + 5000;
              while (!stopped(node.pid)) {
                if (performance.now() > deadline) return reject(new Error("the server did not stop"));
              }
              const began = performance.now();
              owner.close();
              setImmediate(() => resolve(performance.now() - began));
            });
            if (rc !== 0) reject(new Error(`create: ${rc}`));
          });
          held = await closed;
        }
      } finally {
        node.resume();
      }
      try {
        expect(held).toBeLessThan(1000);
        // The close request reached the server's socket before the client stopped waiting: thawed, the
        // server closes the session — well before the 10 s session timeout would have expired it.
        await eventually(async () => !(await exists(observer, path)), 4000, "the ephemeral znode deleted");
      } finally {
        observer.close();
      }
    });
  }
});
