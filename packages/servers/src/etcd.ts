import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { etcdBinary } from "./binaries.js";
import { ManagedNode } from "./node.js";
import { httpCall } from "./probes.js";
import { launch, ManagedServer } from "./server.js";
import type { CommonServerOptions, Server, ServerNode } from "./types.js";
import { pollUntil } from "./wait.js";

/** Options of {@link startEtcd}. */
export interface EtcdOptions extends CommonServerOptions {
  /** 1 for a single member (default), 3 for a cluster. */
  nodes?: 1 | 3;
  /** Raft heartbeat interval in ms (etcd's default 100). */
  heartbeatIntervalMs?: number;
  /** Raft election timeout in ms (etcd's default 1000; the minimum lease TTL is 1.5 × this, rounded up to whole seconds). */
  electionTimeoutMs?: number;
  /** Extra command-line flags for every member. */
  extraArgs?: readonly string[];
}

/** A running etcd member or cluster. */
export interface EtcdServer extends Server {
  readonly kind: "etcd";
  /** Client URLs of the members, `http://127.0.0.1:p` each: the `hosts` option of the `etcd3` npm client. */
  readonly hosts: readonly string[];
  /**
   * The member that is the Raft leader, from `/v3/maintenance/status` of each running member. Waits for an
   * election in progress, up to `timeoutMs` (default 10 000).
   *
   * @throws when no leader is found in time.
   */
  leader(timeoutMs?: number): Promise<ServerNode>;
}

interface MaintenanceStatus {
  header?: { member_id?: string };
  leader?: string;
}

async function status(port: number): Promise<MaintenanceStatus> {
  const response = await httpCall(port, "POST", "/v3/maintenance/status", "{}", 1000);
  if (response.status !== 200) throw new Error(`status ${response.status}`);
  return JSON.parse(response.body) as MaintenanceStatus;
}

async function healthy(port: number): Promise<boolean> {
  const response = await httpCall(port, "GET", "/health", undefined, 1000);
  return response.status === 200 && (JSON.parse(response.body) as { health?: string }).health === "true";
}

class EtcdServerImpl extends ManagedServer implements EtcdServer {
  declare readonly kind: "etcd";

  get hosts(): readonly string[] {
    return this.nodes.map((node) => `http://127.0.0.1:${node.port}`);
  }

  leader(timeoutMs = 10_000): Promise<ServerNode> {
    return pollUntil(
      async () => {
        for (const node of this.nodes) {
          if (!node.running || node.paused) continue;
          try {
            const s = await status(node.port);
            if (s.leader !== undefined && s.leader !== "0" && s.leader === s.header?.member_id) return node;
          } catch {
            // down or without quorum
          }
        }
        return undefined;
      },
      { timeoutMs },
    ).catch((error: Error) => {
      throw new Error(`etcd: no leader: ${error.message}`);
    });
  }
}

/**
 * Start a throwaway etcd member (or a 3-member cluster) from Debian's `etcd-server` package, listening on
 * 127.0.0.1 only, each member with its own data directory (etcd preallocates ~123 MB of WAL per member).
 *
 * Resolves when every member answers `GET /health` with `{"health":"true"}` (the cluster has a leader).
 *
 * - `url`: `etcd://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`
 * - `connectionString`: `http://127.0.0.1:p1,http://127.0.0.1:p2,…` (split on `,` for the `etcd3` client's
 *   `hosts`, or use {@link EtcdServer.hosts})
 * - each node's `ports`: `client`, `peer`
 *
 * @throws {@link MissingBinaryError} when `etcd` is missing (package `etcd-server`).
 * @throws {@link ServerStartError} with the log tail when a member fails to start.
 */
export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdServer> {
  const etcd = etcdBinary();
  const count = options.nodes ?? 1;
  if (count !== 1 && count !== 3) throw new RangeError("etcd: nodes must be 1 or 3");
  return launch(
    "etcd",
    options,
    { nodes: count, portsPerNode: 2 },
    async ({ root, ports, startTimeoutMs, stopTimeoutMs }) => {
      const token = `rollcall-${randomBytes(6).toString("hex")}`;
      const initialCluster = ports.map(([, peer], i) => `node${i + 1}=http://127.0.0.1:${peer}`).join(",");
      const nodes = ports.map(([client = 0, peer = 0], i) => {
        const id = i + 1;
        const dir = join(root, `etcd-${id}`);
        mkdirSync(dir, { recursive: true });
        const logFile = join(dir, "etcd.log");
        const clientUrl = `http://127.0.0.1:${client}`;
        const peerUrl = `http://127.0.0.1:${peer}`;
        const args = [
          `--name=node${id}`,
          `--data-dir=${join(dir, "data")}`,
          `--listen-client-urls=${clientUrl}`,
          `--advertise-client-urls=${clientUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=${initialCluster}`,
          "--initial-cluster-state=new",
          `--initial-cluster-token=${token}`,
          "--logger=zap",
          "--log-outputs=stderr",
          "--log-level=info",
          ...(options.heartbeatIntervalMs === undefined
            ? []
            : [`--heartbeat-interval=${options.heartbeatIntervalMs}`]),
          ...(options.electionTimeoutMs === undefined
            ? []
            : [`--election-timeout=${options.electionTimeoutMs}`]),
          ...(options.extraArgs ?? []),
        ];
        return new ManagedNode({
          id,
          name: `etcd-${id}`,
          port: client,
          ports: { client, peer },
          dir,
          logFile,
          spec: () => ({ command: etcd, args, cwd: dir, env: process.env, logFile }),
          isReady: () => healthy(client),
          stopSignal: "SIGTERM",
          startTimeoutMs,
          stopTimeoutMs,
        });
      });
      const endpoints = nodes.map((node) => `127.0.0.1:${node.port}`);
      return {
        url: `etcd://${endpoints.join(",")}`,
        connectionString: endpoints.map((endpoint) => `http://${endpoint}`).join(","),
        nodes,
      };
    },
    (dir, reservation, parts) => new EtcdServerImpl("etcd", dir, reservation, parts),
  );
}
