import { CreateFlag, Perm, Rc, type ZkAcl } from "./zk-binding.js";
import type { ZkSession } from "./zk-session.js";

/**
 * ACL of everything rollcall creates when the URL carries credentials: all permissions for the
 * creating digest identity (`auth` scheme), read for everybody else. Another ZooKeeper user can
 * list and watch, but cannot create, change or delete — a member's znode can only be deleted with
 * DELETE on its group, and only changed with WRITE on itself.
 */
export const OWNED_ACL: ZkAcl[] = [
  { perms: Perm.ALL, scheme: "auth", auth: "" },
  { perms: Perm.READ, scheme: "world", auth: "anyone" },
];

/**
 * Creates a persistent znode unless it exists (checking first, since creating needs CREATE on a
 * parent another user may own). Restricts its ACL when `owned`. Resolves with `OK` or an error rc.
 */
export async function ensureZnode(session: ZkSession, path: string, owned: boolean): Promise<number> {
  const exists = await session.exists(path);
  if (exists.ok) return Rc.OK;
  if (exists.rc !== Rc.NONODE) return exists.rc;
  const created = await session.create(path, Buffer.alloc(0), CreateFlag.PERSISTENT);
  if (created.rc === Rc.NODEEXISTS) return Rc.OK;
  if (!created.ok) return created.rc;
  return owned ? restrict(session, path) : Rc.OK;
}

/** Restricts a znode we just created to {@link OWNED_ACL} (the binding creates with an open ACL). */
export async function restrict(session: ZkSession, path: string): Promise<number> {
  return (await session.setAcl(path, 0, OWNED_ACL)).rc;
}

/** Deletes a znode and its children (one level: journals have no grandchildren). Best effort. */
export async function removeTree(session: ZkSession, path: string, concurrency = 8): Promise<void> {
  const listed = await session.children(path);
  if (!listed.ok) return;
  // A few deletes in flight at a time: a journal can hold tens of thousands of records.
  await forEachBounded(listed.value.children, concurrency, (child) => session.delete(`${path}/${child}`));
  await session.delete(path);
}

/**
 * Reads of member znodes a snapshot (or a watch round) keeps in flight at most (see {@link forEachPipelined}).
 * Sending one read per member in one burst held the event loop for as long as issuing them took — seconds
 * for 10,000 on a loaded machine — and the C client, which only looks at its connection when the loop lets
 * it, then found nothing received for ⅔ of the session timeout and dropped the connection
 * (`OPERATIONTIMEOUT`: the benchmark's 10,000-member snapshot failed so). The server queues at most 1,000
 * outstanding requests by default (`globalOutstandingLimit`) anyway.
 */
export const READ_WINDOW = 1000;

/**
 * Runs `task` for every item, at most `window` at once, started in bursts: whenever half of the window has
 * settled, the next half starts at once. The server then reads the requests a burst sends together; a
 * request started per reply kept it waking once per request (measured about twice as slow for 10,000 reads),
 * while a whole burst at once held the event loop. `task` must start its request synchronously. Resolves
 * when every started task has settled; rejects with the first error (no task starts after it).
 */
export function forEachPipelined<T>(
  items: readonly T[],
  window: number,
  task: (item: T) => Promise<unknown>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let running = 0;
    let failure: { error: unknown } | undefined;
    const settle = (): void => {
      if (running > 0) return;
      if (failure) reject(failure.error);
      else if (next >= items.length) resolve();
    };
    const done = (): void => {
      running--;
      if (!failure && running <= window / 2) fill();
      settle();
    };
    const fail = (error: unknown): void => {
      failure ??= { error };
      done();
    };
    const fill = (): void => {
      while (!failure && next < items.length && running < window) {
        const item = items[next++] as T;
        running++;
        try {
          task(item).then(done, fail);
        } catch (error) {
          fail(error);
        }
      }
    };
    fill();
    settle();
  });
}

/** Runs `task` for every item with at most `concurrency` running at once; resolves when all have settled. */
export async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item).catch(() => {});
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
