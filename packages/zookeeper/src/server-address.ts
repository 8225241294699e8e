/** A ZooKeeper server address. */
export interface ServerAddress {
  host: string;
  port: number;
}

/** `host:port` as the C client's connect string wants it (IPv6 in brackets). */
export function formatAddress({ host, port }: ServerAddress): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}
