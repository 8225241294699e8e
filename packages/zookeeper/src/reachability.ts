import { connect } from "node:net";
import type { ServerAddress } from "./server-address.js";

/**
 * Whether any of `addresses` accepts a TCP connection within `timeoutMs`. A server that accepts one is
 * reachable even if it serves nothing right now (an ensemble electing a leader); when none does, the
 * client is cut off from the whole ensemble.
 */
export function anyReachable(addresses: readonly ServerAddress[], timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let pending = addresses.length;
    if (pending === 0) {
      resolve(false);
      return;
    }
    let settled = false;
    const sockets = addresses.map(({ host, port }) => {
      const socket = connect({ host, port });
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error("timeout")));
      socket.once("connect", () => {
        if (!settled) {
          settled = true;
          for (const other of sockets) other.destroy();
          resolve(true);
        }
      });
      socket.once("error", () => {});
      socket.once("close", () => {
        pending--;
        if (pending === 0 && !settled) {
          settled = true;
          resolve(false);
        }
      });
      return socket;
    });
  });
}
