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
