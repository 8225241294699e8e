import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { findExecutable } from "./binaries.js";
import { ManagedNode } from "./node.js";
import type { PortReservation } from "./ports.js";
import { type BaseParts, launch, ServerBase } from "./server.js";
import type { CommonServerOptions, ServerNode } from "./types.js";
import { WireConnection } from "./wire.js";

/** How long the default readiness probe waits for one TCP connection. */
const CONNECT_PROBE_TIMEOUT_MS = 1000;

/**
 * Options of {@link startProcessServer}: any server program, started like the built-in kinds on a reserved
 * port of `host` in a temporary directory of its own.
 *
 * @example
 * ```ts
 * const options: ProcessServerOptions = {
 *   name: "nats",
 *   command: ({ host, port, dir }) => ({
 *     command: "nats-server",
 *     args: ["--addr", host, "--port", String(port), "--jetstream", "--store_dir", dir],
 *   }),
 *   url: ({ host, port }) => `nats://${host}:${port}`,
 * };
 * ```
 */
export interface ProcessServerOptions extends CommonServerOptions {
  /**
   * A short name for logs, errors and the temporary directory, such as `"nats"` (`[a-z0-9-]+`). The
   * directory is `rollcall-<name>-XXXXXX`, the node `<name>-1`, its log `<name>.log`.
   */
  name: string;
  /**
   * The program and its arguments, given where to listen and its private directory. Called once, before
   * the first start; every {@link ServerNode.start} runs the same command line.
   *
   * - `command`: an absolute path, or a name looked up on PATH (and in the sbin directories) at each start;
   *   a program that cannot be found fails the start with a {@link ServerStartError} naming it.
   * - `env`: variables added to this process's environment (`undefined` removes one). Default: this
   *   process's environment as it is.
   *
   * `at.dir` is an empty directory that belongs to the program (its working directory too); it survives
   * {@link ServerNode.kill}, {@link ServerNode.stop} and {@link ServerNode.restart}, and is removed by
   * {@link ProcessServer.close}. The program's stdout and stderr go to the node's
   * {@link ServerNode.logFile}, next to that directory.
   */
  command(at: { host: string; port: number; dir: string }): {
    command: string;
    args: readonly string[];
    env?: NodeJS.ProcessEnv;
  };
  /** The backend URL for a node listening at `host:port`, such as `nats://<host>:<port>`. */
  url(at: { host: string; port: number }): string;
  /**
   * Readiness probe, polled until it resolves true (up to `startTimeoutMs`). Exceptions count as "not
   * ready". Default: the port accepts a TCP connection (within 1 s).
   */
  isReady?(at: { host: string; port: number }): Promise<boolean>;
  /** The signal of a graceful {@link ServerNode.stop} (SIGKILL after `stopTimeoutMs`). Default `SIGTERM`. */
  stopSignal?: NodeJS.Signals;
}

/**
 * A running server program started by {@link startProcessServer}: a single node with the same kill / pause /
 * resume / stop / start / restart / logTail handle as every built-in kind, so it fits the conformance kit's
 * `server: { start }`. Unlike a {@link Server} it has no `kind` and no `stats()` (the package does not speak
 * its protocol). Close it with {@link ProcessServer.close}, or with `await using`.
 *
 * @example
 * ```ts
 * await using nats = await startProcessServer(natsOptions);
 * const [node] = nats.nodes;
 * await node.kill(); // the port refuses connections
 * await node.start(); // back on the same port, with the same directory
 * ```
 */
export interface ProcessServer extends AsyncDisposable {
  /** The `name` option. */
  readonly name: string;
  /** The `url` option's answer for the node's host and port. */
  readonly url: string;
  /** The single node (`<name>-1`), listening on {@link ServerNode.port} of {@link ServerNode.host}. */
  readonly nodes: readonly ServerNode[];
  /** The temporary directory holding the node's directory; removed by {@link ProcessServer.close}. */
  readonly dir: string;
  /** Whether {@link ProcessServer.close} has been called. */
  readonly closed: boolean;
  /** Kill the node (SIGKILL, with every process it started), remove the directory, release the port. Idempotent. */
  close(): Promise<void>;
}

class ProcessServerImpl extends ServerBase implements ProcessServer {
  readonly name: string;

  constructor(name: string, dir: string, reservation: PortReservation, parts: BaseParts) {
    super(dir, reservation, parts);
    this.name = name;
  }
}

/** The absolute path of `program`: as given (resolved) when it has a slash, else found on PATH. */
function locate(program: string): string {
  if (program === "") throw new Error("command() gave an empty program name");
  if (program.includes("/")) return resolve(program);
  const found = findExecutable(program);
  if (found === undefined) {
    throw new Error(`cannot find the program ${JSON.stringify(program)} on PATH or in the sbin directories`);
  }
  return found;
}

/** The default readiness probe: `host:port` accepts a TCP connection. */
async function acceptsConnection(at: { host: string; port: number }): Promise<boolean> {
  const connection = await WireConnection.open(at.host, at.port, () => undefined, CONNECT_PROBE_TIMEOUT_MS);
  await connection.close();
  return true;
}

/**
 * Start any server program as a throwaway single-node server, the way the built-in kinds are started: a
 * free port of `host` (127.0.0.1 unless told) reserved across processes, a temporary directory
 * `rollcall-<name>-XXXXXX` (under `tmpDir`) registered with the watchdog, the program spawned in its own
 * session with its output in the node's log, and the same clean-up — on {@link ProcessServer.close}, on a
 * failed start (everything is torn down before the error is rethrown), and when this process dies.
 *
 * Resolves when `isReady` (default: the port accepts a TCP connection) says the node is ready. For a
 * backend whose server is not one of the built-in kinds, this gives the conformance kit's short form:
 * `server: { start: (at) => startProcessServer({ ...options, ...at }), restart: { … } }`.
 *
 * @example
 * ```ts
 * import { startProcessServer } from "@rollcall/servers";
 *
 * await using nats = await startProcessServer({
 *   name: "nats",
 *   command: ({ host, port, dir }) => ({
 *     command: "nats-server",
 *     args: ["--addr", host, "--port", String(port), "--jetstream", "--store_dir", dir],
 *   }),
 *   url: ({ host, port }) => `nats://${host}:${port}`,
 * });
 * console.log(nats.url); // nats://127.0.0.1:23456
 * ```
 *
 * @throws RangeError when `name` is not `[a-z0-9-]+` or `host` is not a specific IPv4 address (before
 *   anything is created).
 * @throws {@link ServerStartError} when the program cannot be found or run, exits before it is ready, or is
 *   not ready within `startTimeoutMs`; the message names the program or ends with its log's last lines.
 * @throws whatever `command()` or `url()` throws.
 */
export async function startProcessServer(options: ProcessServerOptions): Promise<ProcessServer> {
  const { name } = options;
  if (!/^[a-z0-9-]+$/.test(name)) {
    throw new RangeError(`name must match [a-z0-9-]+, got ${JSON.stringify(name)}`);
  }
  return launch(
    name,
    options,
    { nodes: 1, portsPerNode: 1, privateDir: true },
    async ({ root, host, ports, startTimeoutMs, stopTimeoutMs }) => {
      const port = ports[0]?.[0] ?? 0;
      const at = Object.freeze({ host, port });
      const nodeName = `${name}-1`;
      const dir = join(root, nodeName);
      const dataDir = join(dir, "data");
      mkdirSync(dataDir, { recursive: true });
      const logFile = join(dir, `${name}.log`);
      const program = options.command({ host, port, dir: dataDir });
      const url = options.url(at);
      const node = new ManagedNode({
        id: 1,
        name: nodeName,
        host,
        port,
        ports: { client: port },
        dir,
        logFile,
        spec: () => ({
          command: locate(program.command),
          args: [...program.args],
          cwd: dataDir,
          env: { ...process.env, ...program.env },
          logFile,
        }),
        isReady: () => (options.isReady === undefined ? acceptsConnection(at) : options.isReady(at)),
        stopSignal: options.stopSignal ?? "SIGTERM",
        startTimeoutMs,
        stopTimeoutMs,
      });
      return { url, nodes: [node] };
    },
    (dir, reservation, parts) => new ProcessServerImpl(name, dir, reservation, parts),
  );
}
