import { RollcallError } from "@rollcall/core/driver";
import { driversOf, type MemoryDriver } from "./memory-driver.js";

function only(memberId: string): MemoryDriver {
  const found = driversOf(memberId);
  if (found.length === 0)
    throw new RollcallError("INVALID_ARGUMENT", `no open memory:// session for member ${memberId}`);
  return found[found.length - 1] as MemoryDriver;
}

/**
 * Test hooks for `memory://` sessions, addressed by member id: what a real backend's tests do with
 * processes (SIGKILL, SIGSTOP/SIGCONT) and networks, done in-process.
 *
 * @example
 * ```ts
 * memorySessions.freeze("worker-1");     // stops heartbeats and delivery, as SIGSTOP would
 * // … the session expires on the "server", peers see leave{expired} …
 * memorySessions.thaw("worker-1");       // the coordinator sees "expired", re-opens and re-joins
 * ```
 */
export const memorySessions = {
  /** Expires the member's session on the "server" now. */
  expire(memberId: string): void {
    only(memberId).expire();
  },
  /** Freezes the member's client (no heartbeats, no events, operations wait). */
  freeze(memberId: string): void {
    only(memberId).freeze();
  },
  /** Thaws a frozen client. */
  thaw(memberId: string): void {
    only(memberId).thaw();
  },
  /** Cuts the member's client off from the "server". */
  disconnect(memberId: string): void {
    only(memberId).disconnect();
  },
  /** Restores a cut-off client. */
  reconnect(memberId: string): void {
    only(memberId).reconnect();
  },
};
