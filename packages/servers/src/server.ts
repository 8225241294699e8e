import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CertificateFiles } from "./certificates.js";
import { listenHost } from "./host.js";
import { janitor } from "./janitor.js";
import type { ManagedNode } from "./node.js";
import { type PortReservation, reservePorts } from "./ports.js";
import type { CommonServerOptions, Server, ServerKind, ServerStats } from "./types.js";

/** Default readiness deadline. */
export const DEFAULT_START_TIMEOUT_MS = 30_000;
/** Default grace period of a graceful stop. */
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/** What a kind's setup step gets. */
export interface LaunchContext {
  /**
   * The server's temporary directory (mode 0711, so server users can reach their own subdirectories; 0700
   * when launched with `privateDir`).
   */
  root: string;
  /** The address to listen on (the checked `host` option, 127.0.0.1 by default). */
  host: string;
  /** The reserved ports, `portsPerNode` for each node. */
  ports: readonly (readonly number[])[];
  /** Readiness deadline in milliseconds. */
  startTimeoutMs: number;
  /** Grace period of a graceful stop in milliseconds. */
  stopTimeoutMs: number;
}

/** What any setup step returns: the nodes and how to close them (see {@link ServerBase}). */
export interface BaseParts {
  /** The backend URL. */
  url: string;
  /** The nodes, not started yet. */
  nodes: ManagedNode[];
  /** Stop nodes gracefully on close (PostgreSQL, to release its shared memory) instead of SIGKILL. */
  gracefulClose?: boolean;
  /** Called on close once every node is down, before the directory is removed. */
  afterStop?: () => void;
}

/** What a kind's setup step returns. */
export interface ServerParts extends BaseParts {
  /** The client connection string. */
  connectionString: string;
  /** The TLS files, for kinds started with `tls`. */
  certificates?: CertificateFiles;
}

/**
 * The nodes of a launched server with their temporary directory and reserved ports: starting them all, and
 * the idempotent close that takes the nodes down, removes the directory and releases the ports. The base of
 * {@link ManagedServer} (the built-in kinds) and of the server of `startProcessServer`.
 */
export class ServerBase implements AsyncDisposable {
  /** The setup step's URL. */
  readonly url: string;
  /** The setup step's nodes. */
  readonly nodes: readonly ManagedNode[];
  /** The temporary directory of {@link launch}. */
  readonly dir: string;
  readonly #reservation: PortReservation;
  readonly #gracefulClose: boolean;
  readonly #afterStop: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  /**
   * @param dir - the temporary directory (removed on close).
   * @param reservation - the ports (released on close).
   * @param parts - URL and nodes.
   */
  constructor(dir: string, reservation: PortReservation, parts: BaseParts) {
    this.dir = dir;
    this.#reservation = reservation;
    this.url = parts.url;
    this.nodes = parts.nodes;
    this.#gracefulClose = parts.gracefulClose ?? false;
    this.#afterStop = parts.afterStop;
  }

  /** Whether {@link ServerBase.close} has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Take every node down (stop or kill), run `afterStop`, remove the directory, release the ports. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Same as {@link ServerBase.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    try {
      await Promise.all(this.nodes.map((node) => (this.#gracefulClose ? node.stop() : node.kill())));
      this.#afterStop?.();
    } finally {
      removeRoot(this.dir);
      this.#reservation.release();
    }
  }

  /**
   * Start every node at once; resolves when all are ready. When one fails, the others are killed at once
   * (a cluster cannot form without it) and the first error is thrown.
   */
  async startAll(): Promise<void> {
    let first: { error: unknown } | undefined;
    await Promise.all(
      this.nodes.map((node) =>
        node.start().catch(async (error: unknown) => {
          if (first !== undefined) return;
          first = { error };
          await Promise.all(this.nodes.map((other) => other.kill()));
        }),
      ),
    );
    if (first !== undefined) throw first.error;
  }
}

/**
 * The {@link Server} implementation shared by every kind; each kind adds {@link Server.stats}.
 */
export abstract class ManagedServer extends ServerBase implements Server {
  readonly kind: ServerKind;
  readonly connectionString: string;
  /** The TLS files (in the server's directory) when it was started with `tls`, else undefined. */
  readonly certificates: CertificateFiles | undefined;

  /**
   * @param kind - the server kind.
   * @param dir - the temporary directory (removed on close).
   * @param reservation - the ports (released on close).
   * @param parts - URL, connection string and nodes.
   */
  constructor(kind: ServerKind, dir: string, reservation: PortReservation, parts: ServerParts) {
    super(dir, reservation, parts);
    this.kind = kind;
    this.connectionString = parts.connectionString;
    this.certificates = parts.certificates;
  }

  abstract stats(): Promise<ServerStats>;

  /** @throws once {@link ManagedServer.close} has been called. */
  protected assertOpen(): void {
    if (this.closed) throw new Error(`${this.kind}: the server is closed`);
  }
}

/** Remove a server's temporary directory and forget it in the watchdog. */
function removeRoot(root: string): void {
  rmSync(root, { recursive: true, force: true, maxRetries: 5 });
  janitor.untrackPath(root);
}

/**
 * Create the temporary directory and reserve the ports of a server, run the kind's setup, start every node
 * and wait until all are ready. On any failure everything is torn down before the error is rethrown.
 *
 * @param name - names the temporary directory `rollcall-<name>-XXXXXX`: the server kind, or a process
 *   server's name.
 * @param options - the common options.
 * @param layout - how many nodes and ports per node; `privateDir` keeps the directory at mkdtemp's 0700
 *   instead of opening it to 0711 for server users.
 * @param setup - writes configuration, initialises data directories, and describes the nodes.
 * @param make - builds the server object (a subclass of {@link ServerBase}, {@link ManagedServer} for the
 *   kinds).
 */
export async function launch<S extends ServerBase, P extends BaseParts>(
  name: string,
  options: CommonServerOptions,
  layout: { nodes: number; portsPerNode: number; privateDir?: boolean },
  setup: (context: LaunchContext) => Promise<P>,
  make: (dir: string, reservation: PortReservation, parts: P) => S,
): Promise<S> {
  const host = listenHost(options.host);
  const root = mkdtempSync(join(options.tmpDir ?? tmpdir(), `rollcall-${name}-`));
  janitor.trackPath(root);
  if (layout.privateDir !== true) chmodSync(root, 0o711);
  let reservation: PortReservation | undefined;
  let server: S | undefined;
  try {
    reservation = await reservePorts(layout.nodes * layout.portsPerNode, host);
    const all = reservation.ports;
    const ports = Array.from({ length: layout.nodes }, (_, i) =>
      all.slice(i * layout.portsPerNode, (i + 1) * layout.portsPerNode),
    );
    const parts = await setup({
      root,
      host,
      ports,
      startTimeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      stopTimeoutMs: options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
    });
    server = make(root, reservation, parts);
    await server.startAll();
    return server;
  } catch (error) {
    if (server !== undefined) {
      await server.close();
    } else {
      removeRoot(root);
      reservation?.release();
    }
    throw error;
  }
}
