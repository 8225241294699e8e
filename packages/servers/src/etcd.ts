import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { etcdBinary } from "./binaries.js";
import { type CertificateFiles, serverCertificates } from "./certificates.js";
import type { LabHost, NetworkLab } from "./network-lab.js";
import { ManagedNode } from "./node.js";
import { clientFiles, type Endpoint, httpCall } from "./probes.js";
import { awkwardPassword, credentialRefusals, type SecureServer, secureServer } from "./secure.js";
import { launch, ManagedServer } from "./server.js";
import { acceptedConnections, askNodes, STATS_TIMEOUT_MS, StatsRefusedError } from "./stats.js";
import type { CommonServerOptions, Server, ServerNode, ServerStats } from "./types.js";
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
  /**
   * Run each member in its own host of this network lab ({@link NetworkLab.addHost}), bound to the host's
   * address, so that peer traffic crosses the lab bridge and {@link ServerNode.partition} cuts a member off.
   * Not together with `host`. Close the server before the lab.
   */
  lab?: NetworkLab;
  /**
   * Serve clients over TLS with client-certificate authentication: a throwaway PKI
   * ({@link createCertificates}) is made in the server's directory, client URLs become `https://`
   * (`--cert-file`, `--key-file`, `--client-cert-auth`, `--trusted-ca-file`), peers stay plain HTTP, and the
   * server's `url` becomes `etcds://…`. Clients need {@link EtcdServer.certificates}. Default false.
   */
  tls?: boolean;
}

/** A running etcd member or cluster. */
export interface EtcdServer extends Server {
  readonly kind: "etcd";
  /**
   * Client URLs of the members, `http://host:p` each (`https://` with `tls`): the `hosts` option of the
   * `etcd3` npm client.
   */
  readonly hosts: readonly string[];
  /**
   * With `tls`, the PEM files: `caFile` verifies the members, `clientCertFile`/`clientKeyFile` authenticate
   * a client (the rollcall URL parameters `ca=`, `cert=`, `key=`). Undefined without `tls`.
   */
  readonly certificates: CertificateFiles | undefined;
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

async function status(endpoint: Endpoint): Promise<MaintenanceStatus> {
  const response = await httpCall(endpoint, "POST", "/v3/maintenance/status", "{}", 1000);
  if (response.status !== 200) throw new Error(`status ${response.status}`);
  return JSON.parse(response.body) as MaintenanceStatus;
}

async function healthy(endpoint: Endpoint): Promise<boolean> {
  const response = await httpCall(endpoint, "GET", "/health", undefined, 1000);
  return response.status === 200 && (JSON.parse(response.body) as { health?: string }).health === "true";
}

/**
 * The unlabelled samples of a Prometheus text page by name, plus `rollcall_grpc_open_streams`: the gRPC
 * streams (watch, lease keep-alive) started and not yet finished, `grpc_server_started_total` minus
 * `grpc_server_handled_total` over the streaming methods.
 */
function prometheusValues(page: string): Map<string, number> {
  const values = new Map<string, number>();
  let openStreams = 0;
  for (const line of page.split("\n")) {
    if (line.startsWith("#") || line === "") continue;
    const space = line.lastIndexOf(" ");
    const name = line.slice(0, space);
    const value = Number(line.slice(space + 1));
    if (!Number.isFinite(value)) continue;
    if (!name.includes("{")) values.set(name, value);
    else if (/grpc_type="(?:bidi|server|client)_stream"/.test(name)) {
      if (name.startsWith("grpc_server_started_total{")) openStreams += value;
      else if (name.startsWith("grpc_server_handled_total{")) openStreams -= value;
    }
  }
  values.set("rollcall_grpc_open_streams", openStreams);
  return values;
}

/**
 * How many leases the member knows (`/v3/lease/leases`); undefined when it does not say in time (or at all:
 * with authentication enabled it wants a token).
 */
async function leaseCount(endpoint: Endpoint, timeoutMs: number): Promise<number | undefined> {
  if (timeoutMs < 100) return undefined;
  try {
    const response = await httpCall(endpoint, "POST", "/v3/lease/leases", "{}", timeoutMs);
    if (response.status !== 200) return undefined;
    return ((JSON.parse(response.body) as { leases?: unknown[] }).leases ?? []).length;
  } catch {
    return undefined;
  }
}

class EtcdServerImpl extends ManagedServer implements EtcdServer {
  declare readonly kind: "etcd";

  get hosts(): readonly string[] {
    const scheme = this.certificates === undefined ? "http" : "https";
    return this.nodes.map((node) => `${scheme}://${node.host}:${node.port}`);
  }

  /**
   * For every member at once: its established client connections from `/proc/<pid>/net/tcp` (read before
   * this probe connects; see {@link acceptedConnections}), then `GET /metrics`. Keys, database size and
   * leases come from the leader (`etcd_server_is_leader 1`; else the member with the most keys), watchers
   * and open gRPC streams are summed.
   */
  async stats(): Promise<ServerStats> {
    this.assertOpen();
    const tls = clientFiles(this.certificates);
    const { answers, unreachable } = await askNodes(this.nodes, async (node) => {
      const deadline = Date.now() + STATS_TIMEOUT_MS;
      let connections: number;
      try {
        connections = acceptedConnections(node.pid, node.host, node.port);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined; // the process is gone
        throw new StatsRefusedError(
          `etcd: stats: cannot read /proc/${node.pid}: ${(error as Error).message}`,
        );
      }
      const endpoint = { host: node.host, port: node.port, tls };
      const response = await httpCall(endpoint, "GET", "/metrics", undefined, STATS_TIMEOUT_MS);
      if (response.status !== 200) return undefined;
      const metrics = prometheusValues(response.body);
      if (!metrics.has("etcd_debugging_mvcc_keys_total")) return undefined;
      const leases =
        metrics.get("etcd_server_is_leader") === 1
          ? await leaseCount(endpoint, deadline - Date.now())
          : undefined;
      return { connections, metrics, leases };
    });
    const value = (metrics: ReadonlyMap<string, number> | undefined, name: string): number =>
      metrics?.get(name) ?? 0;
    const sum = (name: string): number =>
      answers.reduce((total, { value: { metrics } }) => total + value(metrics, name), 0);
    const leader = answers.find(({ value: { metrics } }) => value(metrics, "etcd_server_is_leader") === 1);
    const chosen =
      leader ??
      [...answers].sort(
        (a, b) =>
          value(b.value.metrics, "etcd_debugging_mvcc_keys_total") -
          value(a.value.metrics, "etcd_debugging_mvcc_keys_total"),
      )[0];
    const keys = value(chosen?.value.metrics, "etcd_debugging_mvcc_keys_total");
    const leases = leader?.value.leases;
    return {
      connections: answers.reduce((total, { value: { connections } }) => total + connections, 0),
      objects: keys,
      detail: {
        keys,
        ...(leases === undefined ? {} : { leases }),
        watchers: sum("etcd_debugging_mvcc_watcher_total"),
        watchStreams: sum("etcd_debugging_mvcc_watch_stream_total"),
        grpcStreams: sum("rollcall_grpc_open_streams"),
        dbSize: value(chosen?.value.metrics, "etcd_mvcc_db_total_size_in_bytes"),
        leader: leader?.node.id ?? 0,
        nodes: this.nodes.length,
        unreachable,
      },
    };
  }

  leader(timeoutMs = 10_000): Promise<ServerNode> {
    return pollUntil(
      async () => {
        for (const node of this.nodes) {
          if (!node.running || node.paused) continue;
          try {
            const s = await status({ host: node.host, port: node.port, tls: clientFiles(this.certificates) });
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
 * Start a throwaway etcd member (or a 3-member cluster) from Debian's `etcd-server` package, listening only
 * on the `host` address (127.0.0.1 by default), each member with its own data directory (etcd preallocates
 * ~123 MB of WAL per member). With `lab`, each member runs in its own lab host (`ip netns exec`) on that
 * host's address, and {@link ServerNode.partition} cuts it off.
 *
 * Resolves when every member answers `GET /health` with `{"health":"true"}` (the cluster has a leader).
 *
 * - `url`: `etcd://h1:p1,h2:p2,h3:p3` (every h is the `host`, or each member's lab address); with `tls`,
 *   `etcds://h1:p1,…` (add `ca=`, `cert=`, `key=` from {@link EtcdServer.certificates})
 * - `connectionString`: `http://h1:p1,http://h2:p2,…` (`https://` with `tls`; split on `,` for the `etcd3`
 *   client's `hosts`, or use {@link EtcdServer.hosts})
 * - each node's `ports`: `client`, `peer`
 *
 * @throws {@link MissingBinaryError} when `etcd` is missing (package `etcd-server`).
 * @throws {@link ServerStartError} with the log tail when a member fails to start.
 */
export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdServer> {
  const etcd = etcdBinary();
  const count = options.nodes ?? 1;
  if (count !== 1 && count !== 3) throw new RangeError("etcd: nodes must be 1 or 3");
  const lab = options.lab;
  if (lab !== undefined && options.host !== undefined) {
    throw new RangeError("etcd: give either host or lab, not both");
  }
  return launch(
    "etcd",
    options,
    { nodes: count, portsPerNode: 2 },
    async ({ root, host, ports, startTimeoutMs, stopTimeoutMs }) => {
      const labHosts: LabHost[] = [];
      if (lab !== undefined) {
        for (let i = 0; i < count; i++) labHosts.push(await lab.addHost(`etcd-${i + 1}`));
      }
      const addresses = ports.map((_, i) => labHosts[i]?.address ?? host);
      const certificates = options.tls ? await serverCertificates(join(root, "tls"), addresses) : undefined;
      const probeTls = clientFiles(certificates);
      const clientScheme = certificates === undefined ? "http" : "https";
      const token = `rollcall-${randomBytes(6).toString("hex")}`;
      const initialCluster = ports
        .map(([, peer], i) => `node${i + 1}=http://${addresses[i]}:${peer}`)
        .join(",");
      const nodes = ports.map(([client = 0, peer = 0], i) => {
        const id = i + 1;
        const dir = join(root, `etcd-${id}`);
        mkdirSync(dir, { recursive: true });
        const logFile = join(dir, "etcd.log");
        const address = addresses[i] ?? host;
        const labHost = labHosts[i];
        const clientUrl = `${clientScheme}://${address}:${client}`;
        const peerUrl = `http://${address}:${peer}`;
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
          // Pre-vote (the default from etcd 3.5 on; 3.4 ships it off): a member cut off from the others
          // does not bump its term while isolated, so healing the partition does not depose a healthy
          // leader and stall every client a second time.
          "--pre-vote=true",
          ...(certificates === undefined
            ? []
            : [
                `--cert-file=${certificates.serverCertFile}`,
                `--key-file=${certificates.serverKeyFile}`,
                "--client-cert-auth",
                `--trusted-ca-file=${certificates.caFile}`,
              ]),
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
          host: address,
          port: client,
          labHost,
          ports: { client, peer },
          dir,
          logFile,
          spec: () => {
            const run = labHost?.command(etcd, args) ?? { file: etcd, args };
            return { command: run.file, args: run.args, cwd: dir, env: process.env, logFile };
          },
          isReady: () => healthy({ host: address, port: client, tls: probeTls }),
          stopSignal: "SIGTERM",
          startTimeoutMs,
          stopTimeoutMs,
        });
      });
      const endpoints = nodes.map((node) => `${node.host}:${node.port}`);
      return {
        url: `${certificates === undefined ? "etcd" : "etcds"}://${endpoints.join(",")}`,
        connectionString: endpoints.map((endpoint) => `${clientScheme}://${endpoint}`).join(","),
        nodes,
        certificates,
      };
    },
    (dir, reservation, parts) => new EtcdServerImpl("etcd", dir, reservation, parts),
  );
}

/** Options of {@link secureEtcd}: those of {@link startEtcd} but TLS, which it sets itself. */
export interface SecureEtcdOptions extends Omit<EtcdOptions, "tls"> {
  /** The keys user `app` may read and write: those starting with this prefix. Default: every key. */
  keyPrefix?: string;
}

/** The end of etcd's range of keys starting with `prefix` (every key for ""), base64 as the JSON API takes it. */
function prefixRange(prefix: string): { key: string; range_end: string } {
  const start = Buffer.from(prefix === "" ? "\0" : prefix, "utf8");
  let end = Buffer.from(prefix, "utf8");
  while (end.length > 0 && end[end.length - 1] === 0xff) end = end.subarray(0, end.length - 1);
  if (end.length === 0) end = Buffer.from([0]);
  else end = Buffer.concat([end.subarray(0, end.length - 1), Buffer.from([(end[end.length - 1] ?? 0) + 1])]);
  return { key: start.toString("base64"), range_end: end.toString("base64") };
}

/**
 * Users, roles and authentication through the JSON gateway (`/v3/auth/…`) of the first member, over TLS
 * with the client certificate: a `root` user with the `root` role (etcd wants one to enable
 * authentication), a role `app` that may read and write the keys starting with `keyPrefix`, a user `app`
 * with it, then `auth enable`.
 */
async function enableAuth(
  server: EtcdServer,
  app: { password: string; keyPrefix: string },
  rootPassword: string,
): Promise<void> {
  const node = server.nodes[0];
  if (node === undefined) throw new Error("etcd: the server has no member");
  const endpoint = { host: node.host, port: node.port, tls: clientFiles(server.certificates) };
  const call = async (path: string, body: object): Promise<void> => {
    const response = await httpCall(endpoint, "POST", `/v3/auth/${path}`, JSON.stringify(body), 10_000);
    if (response.status !== 200) {
      throw new Error(
        `etcd: POST /v3/auth/${path}: status ${response.status}: ${response.body.slice(0, 300)}`,
      );
    }
  };
  await call("role/add", { name: "root" });
  await call("user/add", { name: "root", password: rootPassword });
  await call("user/grant", { user: "root", role: "root" });
  await call("role/add", { name: "app" });
  await call("role/grant", { name: "app", perm: { permType: "READWRITE", ...prefixRange(app.keyPrefix) } });
  await call("user/add", { name: "app", password: app.password });
  await call("user/grant", { user: "app", role: "app" });
  await call("enable", {});
}

/**
 * An etcd that serves clients over TLS with client certificates (`--client-cert-auth`) and has
 * authentication on: {@link startEtcd} with `tls`, then a user `app` (fresh password) whose role may read
 * and write only the keys starting with `keyPrefix`, and a `root` user (etcd needs it to enable
 * authentication; a fresh password of its own).
 *
 * - `url`: `etcds://app:<password>@host:p?ca=<caFile>&cert=<clientCertFile>&key=<clientKeyFile>` (the
 *   rollcall URL parameters `ca`, `cert`, `key`);
 * - `secrets`: both passwords and the client key's contents;
 * - `refused`: `app` with a wrong password and an unknown user ({@link credentialRefusals}) — not "no
 *   credentials": without user info etcd authenticates the client certificate's common name instead — and
 *   `app` with its password but no client certificate.
 */
export async function secureEtcd(options: SecureEtcdOptions = {}): Promise<SecureServer<EtcdServer>> {
  const { keyPrefix = "", ...start } = options;
  const server = await startEtcd({ ...start, tls: true });
  const password = awkwardPassword("etcd");
  const rootPassword = `root-${randomBytes(8).toString("hex")}`;
  try {
    await enableAuth(server, { password, keyPrefix }, rootPassword);
  } catch (error) {
    await server.close();
    throw error;
  }
  const files = server.certificates as CertificateFiles;
  const hosts = server.url.replace(/^etcds:\/\//, "");
  const ca = `ca=${encodeURIComponent(files.caFile)}`;
  const clientCert = `${ca}&cert=${encodeURIComponent(files.clientCertFile)}&key=${encodeURIComponent(files.clientKeyFile)}`;
  const app = `app:${encodeURIComponent(password)}`;
  return secureServer(
    server,
    `etcds://${app}@${hosts}?${clientCert}`,
    [password, rootPassword, readFileSync(files.clientKeyFile, "utf8")],
    [
      ...credentialRefusals(
        (userinfo) => `etcds://${userinfo}@${hosts}?${clientCert}`,
        "app",
        password,
      ).slice(0, 2),
      { why: "no client certificate", url: `etcds://${app}@${hosts}?${ca}` },
    ],
  );
}
