import { connect } from "node:net";
import type { ServerAddress } from "./server-address.js";

/**
 * How a server answered a TCP connection attempt: `accepted`; `refused` (the host is there, its server
 * process is not — it may come back with the sessions it persisted); or `silent` (no answer within the
 * timeout, or unreachable: cut off).
 */
export type Reachability = "accepted" | "refused" | "silent";

/** Tries a TCP connection to every address at once; resolves with how each answered, in order. */
export function probeAddresses(
  addresses: readonly ServerAddress[],
  timeoutMs: number,
): Promise<Reachability[]> {
  return Promise.all(
    addresses.map(
      ({ host, port }) =>
        new Promise<Reachability>((resolve) => {
          let answer: Reachability = "silent";
          const socket = connect({ host, port });
          socket.setTimeout(timeoutMs, () => socket.destroy());
          socket.once("connect", () => {
            answer = "accepted";
            socket.destroy();
          });
          socket.once("error", (error: NodeJS.ErrnoException) => {
            if (error.code === "ECONNREFUSED") answer = "refused";
          });
          socket.once("close", () => resolve(answer));
        }),
    ),
  );
}
