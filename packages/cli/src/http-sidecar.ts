import type { Coordinator, Reactor } from "@rollcall/core";
import { RollcallError } from "@rollcall/core";
// Types only: the package (and prom-client) is loaded when --http is given, not by every command.
import type { ListenAddress } from "@rollcall/metrics";
import { type Args, option } from "./args.js";
import { UsageError } from "./errors.js";
import type { Print } from "./output.js";

/** What `--http` reports on besides the session: the command's group, election or lock. */
export interface SidecarSubjects {
  groups?: string[];
  elections?: string[];
  locks?: string[];
  /** Reactors whose metrics (`rollcall_reactor_*`) are served too. */
  reactors?: Reactor[];
}

/** A running `--http` server, or nothing; `close()` is always safe. */
export interface HttpSidecar {
  close(): Promise<void>;
}

/** The `--http` address, checked before anything else runs: a bad one is a usage error (exit 2). */
export async function httpAddress(args: Args): Promise<ListenAddress | undefined> {
  const raw = option(args, "http");
  if (raw === undefined) return undefined;
  const { parseListenAddress } = await import("@rollcall/metrics");
  try {
    return parseListenAddress(raw);
  } catch (error) {
    if (RollcallError.hasCode(error, "INVALID_ARGUMENT")) throw new UsageError(`--http: ${error.message}`);
    throw error;
  }
}

/**
 * `--http <addr>` of `join`, `campaign` and `lock`: serves `/metrics`, `/healthz`, `/readyz` and
 * `/leaderz` (see @rollcall/metrics) while the command runs, and says where on stderr.
 */
export async function startHttpSidecar(
  coord: Coordinator,
  address: ListenAddress | undefined,
  subjects: SidecarSubjects,
  report: Print,
): Promise<HttpSidecar> {
  if (address === undefined) return { close: async () => {} };
  const { reactorMetrics, serveMetrics } = await import("@rollcall/metrics");
  const { reactors = [], ...servedSubjects } = subjects;
  const served = await serveMetrics(coord, { listen: address, ...servedSubjects });
  const reactorsServed =
    reactors.length > 0 ? reactorMetrics(reactors, { registry: served.registry }) : undefined;
  report(`rollcall: serving /metrics, /healthz, /readyz, /leaderz on ${served.url}`);
  return {
    close: async () => {
      await reactorsServed?.close();
      await served.close();
    },
  };
}
