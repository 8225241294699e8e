import { connect } from "node:net";
import type { ServerAddress } from "./server-address.js";

/**
 * Whether any of `addresses` answers a TCP connection attempt within `timeoutMs`: accepts it, or
 * refuses it (the host is there, its server process is down — it may come back with the sessions it
 * persisted). An ensemble that answers decides about sessions itself, even while it serves nothing (a
 * leader election, a restart); when none answers at all, the client is cut off from the ensemble.
 */
export function anyAnswers(addresses: readonly ServerAddress[], timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let pending = addresses.length;
    let settled = false;
    const settle = (answered: boolean) => {
      if (settled) return;
      settled = true;
      for (const socket of sockets) socket.destroy();
      resolve(answered);
    };
    const sockets = addresses.map(({ host, port }) => {
      const socket = connect({ host, port });
      socket.setTimeout(timeoutMs, () => socket.destroy());
      socket.once("connect", () => settle(true));
      socket.once("error", (error: NodeJS.ErrnoException) => {
        if (error.code === "ECONNREFUSED") settle(true);
      });
      socket.once("close", () => {
        pending--;
        if (pending === 0) settle(false);
      });
      return socket;
    });
    if (addresses.length === 0) settle(false);
  });
}
