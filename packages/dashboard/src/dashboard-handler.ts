import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Coordinator, type GroupView, type Logger, RollcallError } from "@rollcall/core";
import { DashboardModel } from "./dashboard-model.js";
import { EventStream } from "./event-stream.js";

/** Options of {@link dashboardHandler}. */
export interface DashboardOptions {
  /**
   * What the page calls the backend, e.g. `redactUrl(url)` from `@rollcall/core`. Default: the
   * coordinator's backend name. Shown as text; never pass a URL with credentials.
   */
  label?: string;
  /** Where the dashboard lives in your server: a path starting and ending with `/`. Default `/`. */
  basePath?: string;
  /**
   * How often (ms) the lists of groups, elections, locks and configuration stores are re-read to find
   * new ones. Default 2000.
   */
  discoveryInterval?: number;
  /** Members per page of a group's table. Default 50. */
  pageSize?: number;
  /** Timeline entries kept (and sent on connect). Default 500. */
  timelineLength?: number;
  /** Points of each group's size history kept (one per second of change at most). Default 600. */
  historyLength?: number;
  /** Changes kept (and sent on connect) per configuration store, newest first. Default 50. */
  configHistoryLength?: number;
  /**
   * Keys whose owner each group's consistent hash ring (`HashRing` of the member ids, as a
   * `Partitioner` uses) is shown for: up to 20 keys of up to 200 characters; groups of up to 1,000
   * members. Default: none.
   */
  sampleKeys?: readonly string[];
  /** Seats of elections that have more than one (an observer cannot know it), by name. Default 1. */
  seats?: Readonly<Record<string, number>>;
  /** Open event streams at most; more get a 503. Default 64. */
  maxClients?: number;
  /** Unsent bytes a page may fall behind by before it is disconnected (it reconnects). Default 4 MiB. */
  maxBufferedBytes?: number;
  /** Interval (ms) of keep-alive comments on the event streams. Default 15000. */
  heartbeatInterval?: number;
  /**
   * Accepted `Host` headers: a name with a port (`dash.internal:7070`) matches exactly, a name without
   * one (`localhost`, `127.0.0.1`, `[::1]`) matches on any port (an SSH tunnel's local port, say).
   * Anything else is a 403, which stops DNS-rebinding pages from reading the dashboard. Default: any.
   */
  allowedHosts?: readonly string[];
  /**
   * Called with each group view the dashboard opens (e.g. `metrics.trackView` of `@rollcall/metrics`,
   * so one watch feeds both). If it returns a function, that is called when the view is closed.
   */
  onView?: (view: GroupView) => unknown;
  /** Receives the dashboard's log lines; silent by default. */
  logger?: Logger;
}

/** What a {@link DashboardHandler} holds: open event streams and the watches behind the page. */
export interface DashboardStats {
  /** Open event streams. */
  clients: number;
  /** Subscribers of the model (one per open stream). */
  subscribers: number;
  /** Groups, elections and locks watched. */
  groups: number;
  elections: number;
  locks: number;
  /** Configuration stores watched. */
  configs: number;
}

/**
 * A `node:http` request handler serving the dashboard: returns `true` when it answered the request,
 * `false` when the path is not its own (answer it yourself: a 404, another route, `next()`).
 */
export interface DashboardHandler extends AsyncDisposable {
  (request: IncomingMessage, response: ServerResponse): boolean;
  /** What the handler holds now. */
  stats(): DashboardStats;
  /** Resolves once the groups, elections, locks and configuration stores that exist now are being watched. */
  refresh(): Promise<void>;
  /** Ends every event stream and stops every watch. Idempotent; the coordinator stays open. */
  close(): Promise<void>;
}

const ASSETS = new URL("../assets/", import.meta.url);
const STATIC: Record<string, { file: string; type: string }> = {
  "": { file: "index.html", type: "text/html; charset=utf-8" },
  "app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "style.css": { file: "style.css", type: "text/css; charset=utf-8" },
  "favicon.svg": { file: "favicon.svg", type: "image/svg+xml" },
};

/** Nothing but the page's own script, style and stream; no inline code, no framing. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `dashboard option ${name} must be an integer from ${min} to ${max}`,
    );
  }
  return value;
}

function checkOptions(options: DashboardOptions | undefined): DashboardOptions {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new RollcallError("INVALID_ARGUMENT", "dashboard options must be an object");
  }
  if (options.basePath !== undefined && !/^\/([A-Za-z0-9._~-]+\/)*$/.test(options.basePath)) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      "dashboard option basePath must start and end with / and hold only letters, digits and . _ ~ -",
    );
  }
  if (options.label !== undefined && (typeof options.label !== "string" || options.label.length > 500)) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      "dashboard option label must be a string of at most 500 characters",
    );
  }
  const keys = options.sampleKeys;
  if (
    keys !== undefined &&
    (!Array.isArray(keys) ||
      keys.length > 20 ||
      keys.some((k) => typeof k !== "string" || k.length === 0 || k.length > 200))
  ) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      "dashboard option sampleKeys must be at most 20 strings of 1 to 200 characters",
    );
  }
  for (const [name, seats] of Object.entries(options.seats ?? {})) {
    integer(`seats.${name}`, seats, 1, 1, 1000);
  }
  return options;
}

/**
 * The live dashboard of a coordinator, to mount in your own `node:http` server: one page, its script
 * and style, and a server-sent event stream (`events`) that pushes a snapshot, then deltas. Everything
 * comes from the coordinator's public API (`groups()`, `view()`, `elections()`, `locks()`,
 * `observeCandidates()`, `configs()`, `config(name).watch()`, session events), so it works on every
 * backend, memory included (a backend whose `characteristics.config` is `"none"` shows no configuration).
 * Reactors are read from the `rollcall.reactor` store's watch, a braked one as a banner at the top.
 * Read-only: only `GET` and `HEAD`, nothing changes membership or configuration.
 *
 * ```ts
 * const dashboard = dashboardHandler(coord, { label: redactUrl(url) });
 * createServer((req, res) => {
 *   if (!dashboard(req, res)) { res.statusCode = 404; res.end(); }
 * }).listen(7070, "127.0.0.1");
 * ```
 * @throws RollcallError `INVALID_ARGUMENT` for bad options.
 */
export function dashboardHandler(coord: Coordinator, options?: DashboardOptions): DashboardHandler {
  const o = checkOptions(options);
  const basePath = o.basePath ?? "/";
  const maxClients = integer("maxClients", o.maxClients, 64, 1, 100_000);
  const maxBufferedBytes = integer("maxBufferedBytes", o.maxBufferedBytes, 4 * 1024 * 1024, 1024, 2 ** 30);
  const heartbeatInterval = integer("heartbeatInterval", o.heartbeatInterval, 15_000, 100, 3_600_000);
  const allowedHosts = o.allowedHosts ? new Set(o.allowedHosts.map((h) => h.toLowerCase())) : undefined;
  const assets = new Map(
    Object.entries(STATIC).map(([path, { file, type }]) => [
      path,
      { body: readFileSync(new URL(file, ASSETS)), type },
    ]),
  );
  const model = new DashboardModel(coord, {
    label: o.label ?? coord.backend,
    discoveryInterval: integer("discoveryInterval", o.discoveryInterval, 2000, 50, 3_600_000),
    pageSize: integer("pageSize", o.pageSize, 50, 5, 1000),
    timelineLength: integer("timelineLength", o.timelineLength, 500, 10, 100_000),
    historyLength: integer("historyLength", o.historyLength, 600, 10, 100_000),
    configHistoryLength: integer("configHistoryLength", o.configHistoryLength, 50, 1, 10_000),
    seats: { ...(o.seats ?? {}) },
    sampleKeys: [...(o.sampleKeys ?? [])],
    onView: o.onView,
    logger: o.logger ?? silent,
  });
  const streams = new Set<EventStream>();
  let heartbeat: NodeJS.Timeout | undefined;
  let closed = false;

  const openStream = (request: IncomingMessage, response: ServerResponse) => {
    if (closed || streams.size >= maxClients) {
      response.setHeader("Retry-After", "5");
      return plain(request, response, 503, "too many dashboard clients; try again later");
    }
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Accel-Buffering": "no",
    });
    if (request.method === "HEAD") return response.end();
    response.socket?.setNoDelay(true);
    let stream: EventStream | undefined;
    const subscription = model.subscribe((json) => stream?.send(json));
    stream = new EventStream(response, subscription.snapshot, maxBufferedBytes);
    const current = stream;
    streams.add(current);
    heartbeat ??= setInterval(() => {
      for (const s of streams) s.heartbeat();
    }, heartbeatInterval).unref();
    response.on("close", () => {
      subscription.unsubscribe();
      current.end();
      streams.delete(current);
      if (streams.size === 0) {
        clearInterval(heartbeat);
        heartbeat = undefined;
      }
    });
  };

  const handler = ((request: IncomingMessage, response: ServerResponse): boolean => {
    const target = request.url ?? "";
    const question = target.indexOf("?");
    const path = question === -1 ? target : target.slice(0, question);
    if (path === basePath.slice(0, -1) && basePath !== "/") {
      response.statusCode = 308;
      response.setHeader("Location", basePath);
      response.end();
      return true;
    }
    if (!path.startsWith(basePath)) return false;
    const route = path.slice(basePath.length);
    if (!(route in STATIC) && route !== "events" && route !== "state") return false;
    if (allowedHosts && !hostAllowed(allowedHosts, request.headers.host)) {
      plain(request, response, 403, "forbidden: this Host is not allowed");
      return true;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("Allow", "GET, HEAD");
      plain(request, response, 405, "method not allowed: the dashboard is read-only (GET, HEAD)");
      return true;
    }
    if (route === "events") openStream(request, response);
    else if (route === "state") {
      send(request, response, 200, JSON.stringify(model.snapshot()), "application/json; charset=utf-8");
    } else {
      const asset = assets.get(route) as { body: Buffer; type: string };
      send(request, response, 200, asset.body, asset.type);
    }
    return true;
  }) as DashboardHandler;

  const close = async () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    for (const s of streams) s.end();
    streams.clear();
    await model.close();
  };
  handler.stats = () => ({ clients: streams.size, ...model.counts });
  handler.refresh = () => model.refresh();
  handler.close = close;
  handler[Symbol.asyncDispose] = close;
  return handler;
}

const SECURITY_HEADERS = {
  "Content-Security-Policy": CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Resource-Policy": "same-origin",
};

/** Whether a `Host` header is allowed: exactly, or by its name alone when the list has no port for it. */
function hostAllowed(allowed: ReadonlySet<string>, header: string | undefined): boolean {
  const host = (header ?? "").toLowerCase();
  if (allowed.has(host)) return true;
  const name = /^(\[[^\]]*\]|[^:]*)(:\d{1,5})?$/.exec(host)?.[1];
  return name !== undefined && name !== "" && allowed.has(name);
}

function send(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  body: string | Buffer,
  type: string,
): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  });
  response.end(request.method === "HEAD" ? undefined : body);
}

function plain(request: IncomingMessage, response: ServerResponse, status: number, text: string): void {
  send(request, response, status, `${text}\n`, "text/plain; charset=utf-8");
}
