import { existsSync, readFileSync } from "node:fs";
import ZooKeeper from "zookeeper";

/** Poll `check` every 20 ms until it returns true; throw after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Whether a path exists. */
export function exists(path: string): boolean {
  return existsSync(path);
}

/** The real user id of a process, from /proc. */
export function processUid(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Uid:"));
  return Number(line?.split(/\s+/)[1]);
}

/** A connected ZooKeeper client (quiet C client). */
export async function zkConnect(connect: string, timeout = 4000): Promise<ZooKeeper> {
  const client = new ZooKeeper({ connect, timeout, debug_level: 0, host_order_deterministic: false });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`zookeeper client: no connection to ${connect}`)),
      10_000,
    );
    client.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    client.init({});
  });
  return client;
}

/** Data of a znode as text. */
export async function zkGetText(client: ZooKeeper, path: string): Promise<string> {
  const [, data] = (await client.get(path, false)) as [unknown, Buffer | string];
  return data.toString();
}

/**
 * Run a ZooKeeper operation, repeating it while it fails with connection loss (-4): after a server dies, the
 * client reconnects to another one and only then can the operation succeed.
 */
export async function zkRetry<T>(operation: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (!/connection loss/.test(String(error)) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
