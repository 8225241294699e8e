import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { zookeeperBinaries } from "./binaries.js";
import { DEFAULT_HOST } from "./host.js";
import type { LabHost, NetworkLab } from "./network-lab.js";
import { ManagedNode } from "./node.js";
import { tcpExchange } from "./probes.js";
import { awkwardPassword, type SecureServer, secureServer } from "./secure.js";
import { launch, ManagedServer } from "./server.js";
import { askNodes, numericLines, STATS_TIMEOUT_MS } from "./stats.js";
import type { CommonServerOptions, Server, ServerNode, ServerStats } from "./types.js";
import { pollUntil } from "./wait.js";
import { createZnodeAs } from "./zookeeper-wire.js";

/** Options of {@link startZooKeeper}. */
export interface ZooKeeperOptions extends CommonServerOptions {
  /** 1 for a standalone server (default), 3 for an ensemble. */
  nodes?: 1 | 3;
  /** ZooKeeper's basic time unit in ms. Default 500 (sessions may then be 1 s to 10 s by default). */
  tickTime?: number;
  /** Smallest session timeout granted, in ms. Default 2 × tickTime (1000). */
  minSessionTimeout?: number;
  /** Largest session timeout granted, in ms. Default 60 000. */
  maxSessionTimeout?: number;
  /** JVM options, replacing the defaults ({@link ZOOKEEPER_JVM_OPTIONS}). */
  jvmOptions?: readonly string[];
  /** Extra zoo.cfg settings, added after (and overriding) the generated ones. */
  config?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Run each node in its own host of this network lab ({@link NetworkLab.addHost}), bound to the host's
   * address, so that quorum traffic crosses the lab bridge and {@link ServerNode.partition} cuts a node off.
   * Not together with `host`. Close the server before the lab.
   */
  lab?: NetworkLab;
}

/** The role a ZooKeeper server reports in its `srvr` answer. */
export type ZooKeeperMode = "leader" | "follower" | "observer" | "standalone";

/** A running ZooKeeper server or ensemble. */
export interface ZooKeeperServer extends Server {
  readonly kind: "zookeeper";
  /**
   * The node that is the ensemble's leader (the only node of a standalone server), found with the `srvr`
   * four-letter word. Waits for an election in progress, up to `timeoutMs` (default 10 000).
   *
   * @throws when no running node reports `Mode: leader` (or `standalone`) in time.
   */
  leader(timeoutMs?: number): Promise<ServerNode>;
  /** The role of a node (`srvr` → `Mode:`), or undefined if it is down, paused or not serving. */
  mode(node: ServerNode): Promise<ZooKeeperMode | undefined>;
}

/** Default JVM options: a small heap and fast startup. */
export const ZOOKEEPER_JVM_OPTIONS: readonly string[] = [
  "-Xms64m",
  "-Xmx256m",
  "-XX:+UseSerialGC",
  "-XX:TieredStopAtLevel=1",
  "-XX:-UsePerfData",
  "-Djava.net.preferIPv4Stack=true",
];

const LOG4J_PROPERTIES = `log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n
`;

/**
 * Send a four-letter word (such as `srvr`, `ruok`, `mntr`) to a ZooKeeper server and return its answer.
 * Every word is allowed by the servers this package starts.
 *
 * @param port - the client port.
 * @param word - the four-letter word.
 * @param timeoutMs - deadline. Default 2000.
 * @param host - the server's address ({@link ServerNode.host}). Default 127.0.0.1.
 */
export async function zookeeperFourLetterWord(
  port: number,
  word: string,
  timeoutMs = 2000,
  host = DEFAULT_HOST,
): Promise<string> {
  return (await tcpExchange({ host, port }, word, { timeoutMs })).toString("utf8");
}

async function modeOf(host: string, port: number): Promise<ZooKeeperMode | undefined> {
  const answer = await zookeeperFourLetterWord(port, "srvr", 1000, host);
  const mode = /^Mode: (\w+)/m.exec(answer)?.[1];
  return mode === "leader" || mode === "follower" || mode === "observer" || mode === "standalone"
    ? mode
    : undefined;
}

class ZooKeeperServerImpl extends ManagedServer implements ZooKeeperServer {
  declare readonly kind: "zookeeper";

  async mode(node: ServerNode): Promise<ZooKeeperMode | undefined> {
    if (!node.running || node.paused) return undefined;
    try {
      return await modeOf(node.host, node.port);
    } catch {
      return undefined;
    }
  }

  /**
   * `mntr` of every node at once: connections (`zk_num_alive_connections` minus the `mntr` connection
   * itself) and watches summed over the nodes; znodes, ephemerals and data size from the leader (from the
   * node with the most znodes when no leader answers). A node that does not answer, or answers that it is not
   * serving requests (no quorum), is unreachable.
   */
  async stats(): Promise<ServerStats> {
    this.assertOpen();
    const { answers, unreachable } = await askNodes(this.nodes, async (node) => {
      const answer = await zookeeperFourLetterWord(node.port, "mntr", STATS_TIMEOUT_MS, node.host);
      const mntr = numericLines(answer, /\t/);
      if (!mntr.has("zk_znode_count") || !mntr.has("zk_num_alive_connections")) return undefined;
      const state = /^zk_server_state\t(\w+)/m.exec(answer)?.[1];
      return { mntr, leads: state === "leader" || state === "standalone" };
    });
    const value = (mntr: ReadonlyMap<string, number> | undefined, key: string): number => mntr?.get(key) ?? 0;
    const sum = (key: string, minus = 0): number =>
      answers.reduce((total, { value: { mntr } }) => total + Math.max(0, value(mntr, key) - minus), 0);
    const leader = answers.find(({ value: { leads } }) => leads);
    const tree = (
      leader ??
      [...answers].sort(
        (a, b) => value(b.value.mntr, "zk_znode_count") - value(a.value.mntr, "zk_znode_count"),
      )[0]
    )?.value.mntr;
    const znodes = value(tree, "zk_znode_count");
    return {
      connections: sum("zk_num_alive_connections", 1),
      objects: znodes,
      detail: {
        znodes,
        ephemerals: value(tree, "zk_ephemerals_count"),
        watches: sum("zk_watch_count"),
        dataBytes: value(tree, "zk_approximate_data_size"),
        outstandingRequests: sum("zk_outstanding_requests"),
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
          const mode = await this.mode(node);
          if (mode === "leader" || mode === "standalone") return node;
        }
        return undefined;
      },
      { timeoutMs },
    ).catch((error: Error) => {
      throw new Error(`zookeeper: no leader: ${error.message}`);
    });
  }
}

function zooCfg(
  dataDir: string,
  clientPortAddress: string,
  clientPort: number,
  options: ZooKeeperOptions,
  servers: string[],
): string {
  const tickTime = options.tickTime ?? 500;
  const settings: Record<string, string | number | boolean> = {
    tickTime,
    initLimit: 10,
    syncLimit: 5,
    dataDir,
    clientPort,
    clientPortAddress,
    minSessionTimeout: options.minSessionTimeout ?? 2 * tickTime,
    maxSessionTimeout: options.maxSessionTimeout ?? 60_000,
    "admin.enableServer": false,
    "4lw.commands.whitelist": "*",
    forceSync: "no",
    maxClientCnxns: 0,
    ...options.config,
  };
  const lines = Object.entries(settings).map(([key, value]) => `${key}=${value}`);
  return `${[...lines, ...servers].join("\n")}\n`;
}

/**
 * Start a throwaway ZooKeeper server (or a 3-node ensemble) from Debian's `zookeeper` package: the JVM runs
 * `QuorumPeerMain` directly (not zkServer.sh) with a small heap, `tickTime=500`, `minSessionTimeout=1000`,
 * `forceSync=no`, the admin server disabled and every four-letter word allowed, listening only on the `host`
 * address (127.0.0.1 by default). With `lab`, each node runs in its own lab host (`ip netns exec`) on that
 * host's address, and {@link ServerNode.partition} cuts it off.
 *
 * Resolves when every node answers `srvr` with a `Mode:` line (it serves requests).
 *
 * - `url`: `zookeeper://h1:p1,h2:p2,h3:p3` (every h is the `host`, or each node's lab address)
 * - `connectionString`: `h1:p1,h2:p2,h3:p3` (the `connect` option of the `zookeeper` npm client)
 * - each node's `ports`: `client`, `quorum`, `election`
 *
 * @throws {@link MissingBinaryError} when java or the ZooKeeper jars are missing (package `zookeeper`).
 * @throws {@link ServerStartError} with the log tail when a node fails to start.
 */
export async function startZooKeeper(options: ZooKeeperOptions = {}): Promise<ZooKeeperServer> {
  const binaries = zookeeperBinaries();
  const count = options.nodes ?? 1;
  if (count !== 1 && count !== 3) throw new RangeError("zookeeper: nodes must be 1 or 3");
  const lab = options.lab;
  if (lab !== undefined && options.host !== undefined) {
    throw new RangeError("zookeeper: give either host or lab, not both");
  }
  return launch(
    "zookeeper",
    options,
    { nodes: count, portsPerNode: 3 },
    async ({ root, host, ports, startTimeoutMs, stopTimeoutMs }) => {
      const labHosts: LabHost[] = [];
      if (lab !== undefined) {
        for (let i = 0; i < count; i++) labHosts.push(await lab.addHost(`zookeeper-${i + 1}`));
      }
      const addresses = ports.map((_, i) => labHosts[i]?.address ?? host);
      const servers =
        count === 1
          ? []
          : ports.map(([, quorum, election], i) => `server.${i + 1}=${addresses[i]}:${quorum}:${election}`);
      const nodes = ports.map(([client = 0, quorum = 0, election = 0], i) => {
        const id = i + 1;
        const dir = join(root, `zookeeper-${id}`);
        const confDir = join(dir, "conf");
        const dataDir = join(dir, "data");
        mkdirSync(confDir, { recursive: true });
        mkdirSync(dataDir, { recursive: true });
        const address = addresses[i] ?? host;
        const labHost = labHosts[i];
        writeFileSync(join(confDir, "zoo.cfg"), zooCfg(dataDir, address, client, options, servers));
        writeFileSync(join(confDir, "log4j.properties"), LOG4J_PROPERTIES);
        writeFileSync(join(dataDir, "myid"), `${id}\n`);
        const logFile = join(dir, "zookeeper.log");
        return new ManagedNode({
          id,
          name: `zookeeper-${id}`,
          host: address,
          port: client,
          labHost,
          ports: { client, quorum, election },
          dir,
          logFile,
          spec: () => {
            const args = [
              ...(options.jvmOptions ?? ZOOKEEPER_JVM_OPTIONS),
              "-cp",
              [confDir, ...binaries.classPath].join(":"),
              "org.apache.zookeeper.server.quorum.QuorumPeerMain",
              join(confDir, "zoo.cfg"),
            ];
            const run = labHost?.command(binaries.java, args) ?? { file: binaries.java, args };
            return { command: run.file, args: run.args, cwd: dir, env: process.env, logFile };
          },
          isReady: async () => (await modeOf(address, client)) !== undefined,
          stopSignal: "SIGTERM",
          startTimeoutMs,
          stopTimeoutMs,
        });
      });
      const hosts = nodes.map((node) => `${node.host}:${node.port}`).join(",");
      return { url: `zookeeper://${hosts}`, connectionString: hosts, nodes };
    },
    (dir, reservation, parts) => new ZooKeeperServerImpl("zookeeper", dir, reservation, parts),
  );
}

/** Options of {@link secureZooKeeper}: those of {@link startZooKeeper}. */
export type SecureZooKeeperOptions = ZooKeeperOptions;

/**
 * A ZooKeeper with digest authentication (`zookeeper://user:password@…`) and a tree another identity owns.
 *
 * ZooKeeper's digest scheme cannot refuse a wrong password when the session opens — any `user:password` is
 * accepted as an identity of its own — so no URL is refused at connect for its password alone. What is
 * refused is writing into a tree another identity owns: {@link startZooKeeper}, then, as `alice` (fresh
 * password), a znode `/secure-<random>` (not itself a rollcall namespace) that only alice may write and
 * everybody may read (ACL `auth` ALL, `world:anyone` READ). A namespace below it (`namespace=secure-…/intruder`)
 * cannot be created by a wrong password for alice, another user or none: a rollcall ZooKeeper backend
 * reports that (NOAUTH) when it connects.
 *
 * - `url`: `zookeeper://alice:<password>@host:p`;
 * - `secrets`: alice's password;
 * - `refused`: alice with a wrong password, another user (`mallory`), no credentials — each with a namespace
 *   inside the owned znode.
 */
export async function secureZooKeeper(
  options: SecureZooKeeperOptions = {},
): Promise<SecureServer<ZooKeeperServer>> {
  const server = await startZooKeeper(options);
  const password = awkwardPassword("zk");
  const owned = `/secure-${randomBytes(4).toString("hex")}`;
  const node = server.nodes[0];
  try {
    if (node === undefined) throw new Error("zookeeper: the server has no node");
    await createZnodeAs(node.host, node.port, `alice:${password}`, owned, [
      { perms: 31, scheme: "auth", id: "" },
      { perms: 1, scheme: "world", id: "anyone" },
    ]);
  } catch (error) {
    await server.close();
    throw error;
  }
  const hosts = server.url.slice("zookeeper://".length);
  const inside = `namespace=${owned.slice(1)}/intruder`;
  return secureServer(
    server,
    `zookeeper://alice:${encodeURIComponent(password)}@${hosts}`,
    [password],
    [
      {
        why: "alice with a wrong password",
        url: `zookeeper://alice:${encodeURIComponent(`wrong-${password}`)}@${hosts}?${inside}`,
      },
      { why: "another user", url: `zookeeper://mallory:m4llory-pw@${hosts}?${inside}` },
      { why: "no credentials", url: `zookeeper://${hosts}?${inside}` },
    ],
  );
}
