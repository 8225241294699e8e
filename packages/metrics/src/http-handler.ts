import type { IncomingMessage, ServerResponse } from "node:http";
import { RollcallError, validateGroupName } from "@rollcall/core";
import type { Registry } from "prom-client";
import type { HealthProbes, LeaderQuery, ProbeResult } from "./health-probes.js";

/**
 * A `node:http` request handler: returns `true` when it answered the request (or will, for
 * `/metrics`), `false` when the path is not one of its own — the caller's server then answers it
 * (a 404, another route, `next()` in a framework).
 */
export type HttpHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

/** What {@link httpHandler} serves. */
export interface HttpHandlerOptions {
  /** Serves `GET /metrics` from this registry (the Prometheus text format). */
  registry?: Registry;
  /** Serves `GET /healthz`, `/readyz` and `/leaderz[?election=NAME | ?lock=NAME]`. */
  probes?: HealthProbes;
}

/** The paths {@link httpHandler} answers. */
export const HTTP_PATHS = ["/metrics", "/healthz", "/readyz", "/leaderz"] as const;

const LEADER_PARAMS = new Set(["election", "lock"]);

/**
 * Serves `/metrics` and the health probes inside the application's own HTTP server:
 *
 * ```ts
 * const handle = httpHandler({ registry, probes: healthProbes(coord) });
 * createServer((req, res) => {
 *   if (!handle(req, res)) { res.statusCode = 404; res.end(); }
 * });
 * ```
 *
 * Read-only: only `GET` and `HEAD` (anything else on its paths is a 405). Bad queries are a 400 with
 * a fixed message; nothing of the request is echoed but a validated election or lock name; nothing
 * reaches the backend (probes answer from memory, `/metrics` from the registry).
 */
export function httpHandler(options: HttpHandlerOptions): HttpHandler {
  if (typeof options !== "object" || options === null) {
    throw new RollcallError("INVALID_ARGUMENT", "httpHandler needs options ({ registry?, probes? })");
  }
  const { registry, probes } = options;
  if (registry === undefined && probes === undefined) {
    throw new RollcallError("INVALID_ARGUMENT", "httpHandler needs a registry, probes or both");
  }
  return (request, response) => {
    const target = request.url ?? "";
    if (!target.startsWith("/")) return false;
    const question = target.indexOf("?");
    const path = question === -1 ? target : target.slice(0, question);
    const query = question === -1 ? "" : target.slice(question + 1);
    if (path === "/metrics") {
      if (registry === undefined) return false;
      if (!readOnly(request, response)) return true;
      answerMetrics(registry, request, response);
      return true;
    }
    if (probes === undefined) return false;
    let probe: (() => ProbeResult) | undefined;
    if (path === "/healthz") probe = () => probes.healthz();
    else if (path === "/readyz") probe = () => probes.readyz();
    else if (path === "/leaderz") {
      const leaderQuery = parseLeaderQuery(query);
      if (leaderQuery === undefined) {
        send(request, response, 400, "bad request: /leaderz takes ?election=NAME or ?lock=NAME, once", TEXT);
        return true;
      }
      probe = () => probes.leaderz(leaderQuery);
    } else return false;
    if (!readOnly(request, response)) return true;
    const result = probe();
    send(request, response, result.status, result.body, TEXT);
    return true;
  };
}

const TEXT = "text/plain; charset=utf-8";

/** Answers 405 to anything but GET and HEAD; true when the request may go on. */
function readOnly(request: IncomingMessage, response: ServerResponse): boolean {
  if (request.method === "GET" || request.method === "HEAD") return true;
  response.setHeader("Allow", "GET, HEAD");
  send(request, response, 405, "method not allowed: read-only (GET, HEAD)", TEXT);
  return false;
}

function parseLeaderQuery(query: string): LeaderQuery | undefined {
  if (query === "") return {};
  if (query.length > 1024) return undefined;
  const params = new URLSearchParams(query);
  const keys = [...params.keys()];
  if (keys.length !== 1 || !LEADER_PARAMS.has(keys[0] as string)) return undefined;
  const key = keys[0] as "election" | "lock";
  const name = params.get(key) as string;
  try {
    // Election and lock names follow the group-name rule.
    validateGroupName(name);
  } catch {
    return undefined;
  }
  return { [key]: name };
}

function answerMetrics(registry: Registry, request: IncomingMessage, response: ServerResponse): void {
  registry.metrics().then(
    (text) => send(request, response, 200, text, registry.contentType),
    () => send(request, response, 500, "metrics collection failed", TEXT),
  );
}

function send(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  body: string,
  contentType: string,
): void {
  if (response.headersSent || response.destroyed || response.writableEnded) return;
  response.statusCode = status;
  response.setHeader("Content-Type", contentType);
  response.setHeader("Cache-Control", "no-store");
  response.setHeader("X-Content-Type-Options", "nosniff");
  const text = body.endsWith("\n") ? body : `${body}\n`;
  response.setHeader("Content-Length", Buffer.byteLength(text));
  response.end(request.method === "HEAD" ? undefined : text);
}
