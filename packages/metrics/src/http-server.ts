import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Coordinator, RollcallError } from "@rollcall/core";
import { Registry } from "prom-client";
import {
  type CoordinatorMetrics,
  type CoordinatorMetricsOptions,
  coordinatorMetrics,
} from "./coordinator-metrics.js";
import { type HealthProbes, healthProbes } from "./health-probes.js";
import { type HttpHandler, httpHandler } from "./http-handler.js";
import { httpUrl, type ListenAddress, parseListenAddress } from "./listen-address.js";

/** A running HTTP server; dispose (or `close()`) to stop it and drop its connections. */
export interface HttpServer extends AsyncDisposable {
  /** `http://host:port`, with the port actually bound (useful after asking for port 0). */
  readonly url: string;
  /** The address actually bound. */
  readonly address: ListenAddress;
  /** The `node:http` server. */
  readonly server: Server;
  /** Stops listening and closes every connection. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link listenHttp}. */
export interface ListenHttpOptions {
  /** Time (ms) a client gets to send its request headers before it is answered 408 and dropped; default 10 000. */
  headersTimeout?: number;
  /** Time (ms) a client gets to send its whole request; default 15 000 (at least `headersTimeout`). */
  requestTimeout?: number;
}

function timeoutOption(what: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 100 || value > 600_000) {
    throw new RollcallError("INVALID_ARGUMENT", `${what} must be an integer number of ms in 100–600000`);
  }
  return value;
}

/**
 * Starts a `node:http` server on `address` (`host:port`, or a port on 127.0.0.1) that answers with
 * `handler` and 404 for every other path. Clients that are slow to send their request are dropped
 * (`headersTimeout`, `requestTimeout`, checked every second), idle keep-alive connections after 5 s.
 * A port in use or an address that cannot be bound is `INVALID_ARGUMENT`.
 */
export async function listenHttp(
  handler: HttpHandler,
  address: string | ListenAddress,
  options: ListenHttpOptions = {},
): Promise<HttpServer> {
  const wanted = typeof address === "string" ? parseListenAddress(address) : address;
  const headersTimeout = timeoutOption("headersTimeout", options.headersTimeout, 10_000);
  const requestTimeout = Math.max(
    headersTimeout,
    timeoutOption("requestTimeout", options.requestTimeout, 15_000),
  );
  const server = createServer({ connectionsCheckingInterval: 1000 }, (request, response) => {
    let handled = false;
    try {
      handled = handler(request, response);
    } catch {
      if (!response.headersSent) {
        response.statusCode = 500;
        response.end("internal error\n");
      }
      return;
    }
    if (!handled) {
      response.statusCode = 404;
      response.setHeader("Content-Type", "text/plain; charset=utf-8");
      response.end("not found\n");
    }
  });
  server.headersTimeout = headersTimeout;
  server.requestTimeout = requestTimeout;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      reject(
        new RollcallError(
          "INVALID_ARGUMENT",
          `cannot listen on ${httpUrl(wanted)}: ${error.code ?? error.message}`,
          { cause: error },
        ),
      );
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(wanted.port, wanted.host);
  });
  const bound = server.address() as AddressInfo;
  const actual: ListenAddress = { host: wanted.host, port: bound.port };
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
  return {
    url: httpUrl(actual),
    address: actual,
    server,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions extends Omit<CoordinatorMetricsOptions, "registry"> {
  /** Where to listen: `host:port`, or a port (on 127.0.0.1). */
  listen: string | ListenAddress;
  /** The registry to fill and serve; a new one by default. */
  registry?: Registry;
}

/** What {@link serveMetrics} runs; dispose to stop it all. */
export interface MetricsServer extends HttpServer {
  /** The registry served at `/metrics`. */
  readonly registry: Registry;
  /** The coordinator's metrics. */
  readonly metrics: CoordinatorMetrics;
  /** The coordinator's probes. */
  readonly probes: HealthProbes;
}

/**
 * One call for a sidecar: the coordinator's metrics in a registry, its probes, and an HTTP server on
 * `listen` serving `/metrics`, `/healthz`, `/readyz` and `/leaderz`. Resolves once listening (the views
 * of `groups` may still be opening). What `rollcall join|campaign|lock --http` runs.
 */
export async function serveMetrics(coord: Coordinator, options: ServeMetricsOptions): Promise<MetricsServer> {
  const { listen, registry = new Registry(), ...rest } = options;
  const address = typeof listen === "string" ? parseListenAddress(listen) : listen;
  const metrics = coordinatorMetrics(coord, { ...rest, registry });
  const probes = healthProbes(coord);
  let http: HttpServer;
  try {
    http = await listenHttp(httpHandler({ registry, probes }), address);
  } catch (error) {
    probes.close();
    await metrics.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await http.close();
      probes.close();
      await metrics.close();
    })();
    return closing;
  };
  return {
    url: http.url,
    address: http.address,
    server: http.server,
    registry,
    metrics,
    probes,
    close,
    [Symbol.asyncDispose]: close,
  };
}
