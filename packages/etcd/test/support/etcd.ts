import { randomBytes } from "node:crypto";
import { type Coordinator, connect, type DriverConfig, parseUrl } from "@rollcall/core";
import { Etcd3 } from "etcd3";

export const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A fresh namespace, so tests sharing a server never see each other's keys. */
export function freshNamespace(): string {
  return `t-${randomBytes(4).toString("hex")}`;
}

/** `base` (a server URL) with a namespace and options. */
export function urlFor(
  base: string,
  namespace: string,
  params: Record<string, string | number> = {},
): string {
  const query = new URLSearchParams({ namespace, sessionTimeout: "2000" });
  for (const [key, value] of Object.entries(params)) query.set(key, String(value));
  return `${base}?${query}`;
}

/** A driver configuration as core builds it (for tests that talk to the driver directly). */
export function driverConfig(base: string, namespace: string, sessionTimeout = 2000): DriverConfig {
  return {
    url: parseUrl(base),
    memberId: "driver-test",
    namespace,
    sessionTimeout,
    logger: quiet,
    maxMetadataBytes: 65_536,
  };
}

/** A raw etcd3 client for looking behind the driver's back. */
export function rawClient(hosts: readonly string[]): Etcd3 {
  return new Etcd3({ hosts: [...hosts] });
}

/** The lease id a member key is attached to, or undefined when the key is absent. */
export async function memberLease(
  client: Etcd3,
  namespace: string,
  group: string,
  memberId: string,
): Promise<string | undefined> {
  const res = await client.kv.range({ key: Buffer.from(`${namespace}/@members/${group}/${memberId}`) });
  return res.kvs[0]?.lease;
}

/** Connects and closes after the test. */
export class Coordinators {
  private readonly open: Coordinator[] = [];

  async connect(url: string, memberId: string): Promise<Coordinator> {
    const coord = await connect(url, { memberId });
    this.open.push(coord);
    return coord;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.open.splice(0).map((c) => c.close()));
  }
}
