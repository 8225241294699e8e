import { isIPv4 } from "node:net";

/** The address servers listen on unless told otherwise. */
export const DEFAULT_HOST = "127.0.0.1";

/**
 * Check the `host` option: an IPv4 address of this machine to listen on (never the wildcard 0.0.0.0).
 *
 * @returns the address, {@link DEFAULT_HOST} when none is given.
 * @throws RangeError when it is not a specific IPv4 address.
 */
export function listenHost(host: string | undefined): string {
  if (host === undefined) return DEFAULT_HOST;
  if (!isIPv4(host) || host === "0.0.0.0") {
    throw new RangeError(
      `host must be a specific IPv4 address (not a name, not 0.0.0.0), got ${JSON.stringify(host)}`,
    );
  }
  return host;
}
