import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Server,
  startEtcd,
  startMariaDB,
  startPostgres,
  startRedis,
  startZooKeeper,
} from "@rollcall/servers";
import type { BackendName } from "../args.js";
import { etcdCounter } from "../counters/etcd-counter.js";
import { mariadbCounter } from "../counters/mariadb-counter.js";
import { postgresCounter } from "../counters/postgres-counter.js";
import { redisCounter } from "../counters/redis-counter.js";
import { zookeeperCounter } from "../counters/zookeeper-counter.js";
import type { BackendSpec, RunningBackend } from "./backend-spec.js";

function query(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

/** The address and client port of a standalone server's node. */
function endpoint(server: Server): { host: string; port: number } {
  const node = server.nodes[0];
  return { host: node?.host ?? "127.0.0.1", port: node?.port ?? 0 };
}

const memory: BackendSpec = {
  name: "memory",
  module: "@rollcall/memory",
  async start() {
    return {
      name: "memory",
      module: "@rollcall/memory",
      inProcess: true,
      server: "none (in-process)",
      url: (ns, timeout, extra = {}) =>
        `memory://${ns}?${query({ sessionTimeout: String(timeout), ...extra })}`,
      serverPids: () => [],
      close: async () => {},
    };
  },
};

const zookeeper: BackendSpec = {
  name: "zookeeper",
  module: "@rollcall/zookeeper",
  async start({ host }) {
    const server = await startZooKeeper({ host });
    const { host: address, port } = endpoint(server);
    const counter = zookeeperCounter(address, port);
    return {
      name: "zookeeper",
      module: "@rollcall/zookeeper",
      inProcess: false,
      server: `ZooKeeper ${await counter.version()} (standalone, tickTime 500)`,
      url: (ns, timeout, extra = {}) =>
        `${server.url}?${query({ namespace: ns, sessionTimeout: String(timeout), ...extra })}`,
      toozUrl: (ns, seconds) =>
        `zookeeper://${address}:${port}?${query({ namespace: ns, timeout: String(seconds) })}`,
      serverPids: () => server.nodes.filter((n) => n.running).map((n) => n.pid),
      counter,
      close: () => server.close(),
    };
  },
};

const etcd: BackendSpec = {
  name: "etcd",
  module: "@rollcall/etcd",
  async start({ host }) {
    const server = await startEtcd({ host });
    const client = server.hosts[0] ?? "";
    const counter = etcdCounter(client);
    return {
      name: "etcd",
      module: "@rollcall/etcd",
      inProcess: false,
      server: `etcd ${await counter.version()} (single member)`,
      url: (ns, timeout, extra = {}) =>
        `${server.url}?${query({ namespace: ns, sessionTimeout: String(timeout), ...extra })}`,
      toozUrl: (_ns, seconds) =>
        `${client.replace("http://", "etcd3://")}?${query({ timeout: String(seconds) })}`,
      etcdEndpoint: client,
      serverPids: () => server.nodes.filter((n) => n.running).map((n) => n.pid),
      counter,
      close: () => server.close(),
    };
  },
};

const redis: BackendSpec = {
  name: "redis",
  module: "@rollcall/redis",
  async start({ host }) {
    const server = await startRedis({ host });
    const { host: address, port } = endpoint(server);
    const counter = redisCounter(address, port);
    return {
      name: "redis",
      module: "@rollcall/redis",
      inProcess: false,
      server: `Redis ${await counter.version()}`,
      url: (ns, timeout, extra = {}) =>
        `${server.url}?${query({ namespace: ns, sessionTimeout: String(timeout), ...extra })}`,
      toozUrl: (ns, seconds) =>
        `redis://${address}:${port}?${query({ namespace: ns, membership_timeout: String(seconds), lock_timeout: String(seconds) })}`,
      serverPids: () => server.nodes.filter((n) => n.running).map((n) => n.pid),
      counter,
      close: () => server.close(),
    };
  },
};

const postgresql: BackendSpec = {
  name: "postgresql",
  module: "@rollcall/sql",
  async start({ maxConnections, host }) {
    const server = await startPostgres({ maxConnections, host });
    const counter = postgresCounter(server.connectionString);
    const version = await counter.version();
    return {
      name: "postgresql",
      module: "@rollcall/sql",
      inProcess: false,
      server: `PostgreSQL ${version.split(" ")[0]} (fsync off)`,
      url: (ns, timeout, extra = {}) =>
        `${server.url}?${query({ namespace: ns, sessionTimeout: String(timeout), ...extra })}`,
      connectionString: server.connectionString,
      serverPids: () => server.nodes.filter((n) => n.running).map((n) => n.pid),
      counter,
      close: async () => {
        await counter.close();
        await server.close();
      },
    };
  },
};

const mysql: BackendSpec = {
  name: "mysql",
  module: "@rollcall/sql",
  async start({ maxConnections, host }) {
    const server = await startMariaDB({ maxConnections, host });
    const counter = mariadbCounter(server.connectionString);
    const version = await counter.version();
    return {
      name: "mysql",
      module: "@rollcall/sql",
      inProcess: false,
      server: `MariaDB ${version.split("-")[0]}`,
      url: (ns, timeout, extra = {}) =>
        `${server.url}?${query({ namespace: ns, sessionTimeout: String(timeout), ...extra })}`,
      connectionString: server.connectionString,
      serverPids: () => server.nodes.filter((n) => n.running).map((n) => n.pid),
      counter,
      close: async () => {
        await counter.close();
        await server.close();
      },
    };
  },
};

const sqlite: BackendSpec = {
  name: "sqlite",
  module: "@rollcall/sql",
  async start() {
    const dir = mkdtempSync(join(tmpdir(), "rollcall-bench-sqlite-"));
    return {
      name: "sqlite",
      module: "@rollcall/sql",
      inProcess: false,
      server: "none (a file: every client process opens it)",
      url: (ns, timeout, extra = {}) =>
        `sqlite://${join(dir, "bench.db")}?${query({ namespace: ns, sessionTimeout: String(timeout), ...extra })}`,
      serverPids: () => [],
      close: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

/** Every backend, by name. */
export const BACKEND_SPECS: Record<BackendName, BackendSpec> = {
  memory,
  zookeeper,
  etcd,
  redis,
  postgresql,
  mysql,
  sqlite,
};

/** Whether a running backend has a real server to measure. */
export function hasServer(backend: RunningBackend): boolean {
  return backend.serverPids().length > 0;
}
