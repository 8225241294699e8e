import type { RollcallError } from "@rollcall/core/driver";
import { isConnectionRc, Rc, WatchType } from "./zk-binding.js";
import type { ZkSession } from "./zk-session.js";

/** What {@link awaitGone} needs from the driver. */
export interface AwaitGoneContext {
  /** The current session; throws `NOT_CONNECTED` when there is none. */
  session(): ZkSession;
  /** Registry of waits the driver rejects when its session ends. */
  waiters: Set<(error: RollcallError) => void>;
  /** The error for an unexpected rc. */
  fail(rc: number): RollcallError;
}

/**
 * Resolves when the znode at `path` does not exist — or, with `seq`, when it is not that incarnation
 * (its czxid differs: the member re-joined) — using an exists watch on that znode only (an election
 * candidate waits on its predecessor, not on the whole group). A watch that fires for a data change
 * is re-armed; a connection loss waits for the reconnect and looks again.
 *
 * Nothing of the wait outlives it: its watch listener is removed from the session when the wait ends
 * (gone, aborted, session ended), even though the one-shot watch itself stays set on the server until
 * the znode changes. (With the binding's own per-watch callbacks, every abandoned wait — a candidate
 * that withdrew, a leader that resigned — kept its whole leadership alive for good.)
 */
export async function awaitGone(
  context: AwaitGoneContext,
  path: string,
  signal: AbortSignal,
  seq?: bigint,
): Promise<void> {
  for (;;) {
    signal.throwIfAborted();
    const session = context.session();
    const outcome = await new Promise<"gone" | "again">((resolve, reject) => {
      let settled = false;
      const finish = (result: { value: "gone" | "again" } | { error: unknown }) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        context.waiters.delete(onEnd);
        session.unwatch("node", path, onWatch);
        if ("error" in result) reject(result.error);
        else resolve(result.value);
      };
      const onAbort = () => finish({ error: signal.reason });
      const onEnd = (error: RollcallError) => finish({ error });
      const onWatch = (type: number) => {
        if (type === WatchType.DELETED) finish({ value: "gone" });
        else if (type !== WatchType.SESSION) finish({ value: "again" });
      };
      signal.addEventListener("abort", onAbort, { once: true });
      context.waiters.add(onEnd);
      void session.exists(path, onWatch).then((reply) => {
        if (reply.rc === Rc.NONODE) finish({ value: "gone" });
        else if (reply.ok) {
          if (seq !== undefined && BigInt(reply.value.czxid) !== seq) finish({ value: "gone" });
        } else if (isConnectionRc(reply.rc) && session.state === "suspended") {
          session.whenConnected().then(
            () => finish({ value: "again" }),
            (error: unknown) => finish({ error }),
          );
        } else finish({ error: context.fail(reply.rc) });
      });
    });
    if (outcome === "gone") return;
  }
}
