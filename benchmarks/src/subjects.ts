import type { LabHost } from "@rollcall/servers";
import type { Agent } from "./agents/agent.js";
import { ChildAgent, type ChildAgentSpec } from "./agents/child-agent.js";
import { LocalAgent } from "./agents/local-agent.js";
import type { BackendName } from "./args.js";
import type { RunningBackend } from "./backends/backend-spec.js";
import { AGENT_MAIN, DEBIAN_PYTHON, ETCD3_AGENT, TOOZ_AGENT } from "./paths.js";
import type { SubjectKind } from "./results.js";

/** What a subject cannot do, with the reason the page gives. */
export interface Unsupported {
  update?: string;
  failover?: string;
}

/** Something the membership scenarios (notify, detect, failover, churn) can be run on. */
export interface Subject {
  /** `rollcall/zookeeper`, `tooz/zookeeper`. */
  readonly id: string;
  readonly kind: SubjectKind;
  readonly backend: BackendName;
  /** The detection bound it is configured with, in ms. */
  readonly sessionTimeoutMs: number;
  /** A URL for a fresh namespace. */
  url(namespace: string): string;
  /**
   * Starts one participant (a process, or an in-process agent for memory://); with `host`, its process
   * runs inside that network lab host.
   */
  spawn(label: string, host?: LabHost): Promise<Agent>;
  readonly unsupported: Unsupported;
  /**
   * How often its watchers look for changes when they poll (tooz's run_watchers loop, rollcall's
   * change-log poll); undefined for push. Scenarios spread their actions over this interval so they
   * do not fall into step with the poll.
   */
  readonly pollIntervalMs?: number;
  /** How its watchers learn about changes, for the page. */
  readonly watchNote: string;
  /** How its members stay alive, for the page. */
  readonly livenessNote: string;
}

/** The memory backend's session hooks (freeze stops heartbeats as a SIGKILL would). */
export interface SessionHooks {
  freeze(memberId: string): void;
  thaw(memberId: string): void;
}

const WATCH_NOTES: Record<BackendName, string> = {
  memory: "push (in-process event log)",
  zookeeper: "push (ZooKeeper watches)",
  etcd: "push (etcd watch)",
  redis: "push (pub/sub + change stream)",
  postgresql: "push (LISTEN/NOTIFY)",
  mysql: "poll of the change log every sessionTimeout/4",
  sqlite: "poll of the change log every sessionTimeout/4",
};

const LIVENESS_NOTES: Record<BackendName, string> = {
  memory: "session deadline renewed every sessionTimeout/3",
  zookeeper: "ZooKeeper session (client pings)",
  etcd: "lease keep-alive",
  redis: "session key TTL refreshed",
  postgresql: "session row heartbeat every sessionTimeout/3",
  mysql: "session row heartbeat every sessionTimeout/3",
  sqlite: "session row heartbeat every sessionTimeout/3",
};

/** The spec run inside a lab host (`ip netns exec`, which execs the program: the pid stays the agent's). */
function inHost(spec: ChildAgentSpec, host: LabHost | undefined): ChildAgentSpec {
  if (!host) return spec;
  const { file, args } = host.command(spec.command, spec.args);
  return { ...spec, label: `${spec.label}@${host.address}`, command: file, args };
}

/** rollcall on a running backend. */
export function rollcallSubject(
  backend: RunningBackend,
  sessionTimeoutMs: number,
  hooks?: SessionHooks,
): Subject {
  return {
    id: `rollcall/${backend.name}`,
    kind: "rollcall",
    backend: backend.name,
    sessionTimeoutMs,
    url: (namespace) => backend.url(namespace, sessionTimeoutMs),
    unsupported: {},
    ...(backend.name === "mysql" || backend.name === "sqlite"
      ? { pollIntervalMs: Math.max(50, Math.min(1000, Math.floor(sessionTimeoutMs / 4))) }
      : {}),
    watchNote: WATCH_NOTES[backend.name],
    livenessNote: LIVENESS_NOTES[backend.name],
    async spawn(label, host) {
      if (backend.inProcess) {
        if (!hooks) throw new Error("memory:// needs the backend's session hooks");
        if (host) throw new Error("memory:// agents live in the harness's process: no lab host");
        return new LocalAgent(label, hooks.freeze, hooks.thaw);
      }
      const agent = await ChildAgent.start(
        inHost({ label: `${backend.name}:${label}`, command: process.execPath, args: [AGENT_MAIN] }, host),
      );
      await agent.request("import", { modules: [backend.module] });
      return agent;
    },
  };
}

const TOOZ_DRIVERS: Partial<Record<BackendName, string>> = {
  zookeeper: "zookeeper (kazoo)",
  etcd: "etcd3 (python3-etcd3, gRPC)",
  redis: "redis (redis-py)",
};

/** tooz's driver for the same server, driven from the tooz agent. */
export function toozSubject(
  backend: RunningBackend,
  sessionTimeoutMs: number,
  intervalMs: number,
): Subject | undefined {
  const toozUrl = backend.toozUrl;
  if (!toozUrl) return undefined;
  const seconds = Math.round(sessionTimeoutMs / 1000);
  const unsupported: Unsupported = {
    update: "tooz has no update event: watchers are told only of joins and leaves",
  };
  return {
    id: `tooz/${backend.name}`,
    kind: "tooz",
    backend: backend.name,
    sessionTimeoutMs: seconds * 1000,
    url: (namespace) => toozUrl(namespace, seconds),
    unsupported,
    pollIntervalMs: intervalMs,
    watchNote: `run_watchers() every ${intervalMs} ms (re-list and diff)`,
    livenessNote:
      backend.name === "zookeeper"
        ? "kazoo session"
        : `heartbeat thread (start_heart=True), ${TOOZ_DRIVERS[backend.name] ?? backend.name}`,
    spawn: (label, host) =>
      ChildAgent.start(
        inHost(
          {
            label: `tooz-${backend.name}:${label}`,
            command: DEBIAN_PYTHON,
            args: [TOOZ_AGENT],
            env: { TOOZ_INTERVAL_MS: String(intervalMs), PYTHONUNBUFFERED: "1" },
          },
          host,
        ),
      ),
  };
}

/**
 * The etcd3 npm client on the same etcd, driven by the etcd3 peer agent (config scenario only): its URL is
 * the endpoint with the run's key prefix, `http://host:port/?namespace=…`.
 */
export function etcd3Subject(backend: RunningBackend): Subject | undefined {
  const endpoint = backend.etcdEndpoint;
  if (!endpoint) return undefined;
  return {
    id: `etcd3/${backend.name}`,
    kind: "etcd3",
    backend: backend.name,
    sessionTimeoutMs: 0,
    url: (namespace) => `${endpoint}/?${new URLSearchParams({ namespace }).toString()}`,
    unsupported: {},
    watchNote: "push (etcd watch of the prefix, etcd3 npm client)",
    livenessNote: "none (no lease: configuration belongs to no session)",
    spawn: (label, host) =>
      ChildAgent.start(
        inHost(
          { label: `etcd3-${backend.name}:${label}`, command: process.execPath, args: [ETCD3_AGENT] },
          host,
        ),
      ),
  };
}

/** The tooz driver name used for a backend, for the page. */
export function toozDriverName(backend: BackendName): string | undefined {
  return TOOZ_DRIVERS[backend];
}
