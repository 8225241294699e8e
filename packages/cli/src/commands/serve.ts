import type { IncomingMessage, ServerResponse } from "node:http";
import { type Coordinator, RollcallError } from "@rollcall/core";
import { type DashboardHandler, dashboardHandler } from "@rollcall/dashboard";
import {
  coordinatorMetrics,
  healthProbes,
  httpHandler,
  type ListenAddress,
  listenHttp,
  parseListenAddress,
} from "@rollcall/metrics";
import { Registry } from "prom-client";
import { type Args, option } from "../args.js";
import { UsageError } from "../errors.js";
import type { Print } from "../output.js";

/** Where `rollcall serve` listens unless told otherwise: loopback only. */
export const DEFAULT_SERVE_ADDRESS = "127.0.0.1:7070";

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

function listenAddress(args: Args): ListenAddress {
  try {
    return parseListenAddress(option(args, "listen") ?? DEFAULT_SERVE_ADDRESS);
  } catch (error) {
    if (RollcallError.hasCode(error, "INVALID_ARGUMENT")) throw new UsageError(`--listen: ${error.message}`);
    throw error;
  }
}

/**
 * The names a browser sends as `Host` to a loopback server, on any port (an SSH tunnel's too); any
 * other name — a DNS-rebinding page's — is refused.
 */
const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"];

/**
 * `rollcall serve [--listen ADDR] [--keys K1,K2…]`: the live dashboard, `/metrics` and the health probes on one
 * server, until SIGINT/SIGTERM. Read-only; loopback unless `--listen` says otherwise. The dashboard's
 * group views also feed the metrics (one watch per group). `url` is already redacted.
 */
export async function serveCommand(
  coord: Coordinator,
  args: Args,
  print: Print,
  stop: AbortSignal,
  url: string,
): Promise<number> {
  const address = listenAddress(args);
  const keys = option(args, "keys")
    ?.split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  const registry = new Registry();
  const metrics = coordinatorMetrics(coord, { registry });
  const probes = healthProbes(coord);
  const serveMetrics = httpHandler({ registry, probes });
  let dashboard: DashboardHandler | undefined;
  const handle = (request: IncomingMessage, response: ServerResponse) =>
    serveMetrics(request, response) || (dashboard?.(request, response) ?? false);
  try {
    const http = await listenHttp(handle, address);
    try {
      dashboard = dashboardHandler(coord, {
        label: url,
        ...(keys ? { sampleKeys: keys } : {}),
        onView: (view) => metrics.trackView(view),
        ...(LOOPBACK.has(address.host) ? { allowedHosts: LOOPBACK_HOSTS } : {}),
      });
      print(`rollcall serve: dashboard on ${http.url}/ with /metrics, /healthz, /readyz, /leaderz — ${url}`);
      if (!LOOPBACK.has(address.host)) {
        print(`rollcall serve: listening on ${address.host}: anyone who can reach it can read the dashboard`);
      }
      await new Promise<void>((resolve) => {
        if (stop.aborted) resolve();
        else stop.addEventListener("abort", () => resolve(), { once: true });
      });
    } finally {
      await dashboard?.close();
      await http.close();
    }
  } finally {
    probes.close();
    await metrics.close();
  }
  return 0;
}
