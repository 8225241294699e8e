/**
 * A server's own count of the requests it handled, read before and after a measuring window: what
 * the page reports as "server requests/s" for each backend.
 */
export interface ServerCounter {
  /** What is counted, e.g. "packets received (mntr zk_packets_received)". */
  readonly label: string;
  /** The counter's current value. */
  read(): Promise<number>;
  /** The server's version string, for the results. */
  version(): Promise<string>;
  /** Releases any connection the counter holds. */
  close(): Promise<void>;
}
