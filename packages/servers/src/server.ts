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
  /** The server's temporary directory (mode 0711, so server users can reach their own subdirectories). */
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

/** What a kind's setup step returns. */
export interface ServerParts {
  /** The backend URL. */
  url: string;
  /** The client connection string. */
  connectionString: string;
  /** The nodes, not started yet. */
  nodes: ManagedNode[];
  /** Stop nodes gracefully on close (PostgreSQL, to release its shared memory) instead of SIGKILL. */
  gracefulClose?: boolean;
  /** Called on close once every node is down, before the directory is removed. */
  afterStop?: () => void;
  /** The TLS files, for kinds started with `tls`. */
  certificates?: CertificateFiles;
}

/**
 * The {@link Server} implementation shared by every kind; each kind adds {@link Server.stats}.
 */
export abstract class ManagedServer implements Server {
  readonly kind: ServerKind;
  readonly url: string;
  readonly connectionString: string;
  readonly nodes: readonly ManagedNode[];
  readonly dir: string;
  /** The TLS files (in the server's directory) when it was started with `tls`, else undefined. */
  readonly certificates: CertificateFiles | undefined;
  readonly #reservation: PortReservation;
  readonly #gracefulClose: boolean;
  readonly #afterStop: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  /**
   * @param kind - the server kind.
   * @param dir - the temporary directory (removed on close).
   * @param reservation - the ports (released on close).
   * @param parts - URL, connection string and nodes.
   */
  constructor(kind: ServerKind, dir: string, reservation: PortReservation, parts: ServerParts) {
    this.kind = kind;
    this.dir = dir;
    this.#reservation = reservation;
    this.url = parts.url;
    this.connectionString = parts.connectionString;
    this.nodes = parts.nodes;
    this.certificates = parts.certificates;
    this.#gracefulClose = parts.gracefulClose ?? false;
    this.#afterStop = parts.afterStop;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  abstract stats(): Promise<ServerStats>;

  /** @throws once {@link ManagedServer.close} has been called. */
  protected assertOpen(): void {
    if (this.closed) throw new Error(`${this.kind}: the server is closed`);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    try {
      await Promise.all(this.nodes.map((node) => (this.#gracefulClose ? node.stop() : node.kill())));
      this.#afterStop?.();
    } finally {
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 5 });
      janitor.untrackPath(this.dir);
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
 * Create the temporary directory and reserve the ports of a server, run the kind's setup, start every node
 * and wait until all are ready. On any failure everything is torn down before the error is rethrown.
 *
 * @param kind - the server kind.
 * @param options - the common options.
 * @param layout - how many nodes and ports per node.
 * @param setup - writes configuration, initialises data directories, and describes the nodes.
 * @param make - builds the server object (a subclass of {@link ManagedServer} for kinds with extras).
 */
export async function launch<S extends ManagedServer>(
  kind: ServerKind,
  options: CommonServerOptions,
  layout: { nodes: number; portsPerNode: number },
  setup: (context: LaunchContext) => Promise<ServerParts>,
  make: (dir: string, reservation: PortReservation, parts: ServerParts) => S,
): Promise<S> {
  const host = listenHost(options.host);
  const root = mkdtempSync(join(options.tmpDir ?? tmpdir(), `rollcall-${kind}-`));
  janitor.trackPath(root);
  chmodSync(root, 0o711);
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
      rmSync(root, { recursive: true, force: true, maxRetries: 5 });
      janitor.untrackPath(root);
      reservation?.release();
    }
    throw error;
  }
}
