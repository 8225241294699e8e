import {
  type BrakeOptions,
  type Coordinator,
  type Departure,
  type ReactorOptions,
  reactorStatus,
  releaseReactor,
} from "@rollcall/core";
import { type Args, intOption, option, positional } from "../args.js";
import { UsageError } from "../errors.js";
import { httpAddress, startHttpSidecar } from "../http-sidecar.js";
import type { Print } from "../output.js";
import { runWhileLeading } from "../supervised-command.js";

/** `--brake FRACTION/WINDOW` (e.g. `0.5/10000`), `--brake FRACTION`, or `--brake off`. */
export function parseBrake(raw: string | undefined): BrakeOptions | false | undefined {
  if (raw === undefined) return undefined;
  if (raw === "off") return false;
  const [fraction, window, extra] = raw.split("/");
  const f = Number(fraction);
  const w = window === undefined ? undefined : Number(window);
  if (extra !== undefined || !(f > 0 && f < 1) || (w !== undefined && !(Number.isInteger(w) && w > 0))) {
    throw new UsageError(
      `--brake must be FRACTION[/WINDOW_MS] with 0 < FRACTION < 1 (e.g. 0.5/10000), or off; got ${JSON.stringify(raw)}`,
    );
  }
  return w === undefined ? { fraction: f } : { fraction: f, window: w };
}

/** `--reasons expired,left`. */
function parseReasons(raw: string | undefined): ReactorOptions["reasons"] {
  if (raw === undefined) return undefined;
  const reasons = raw.split(",").map((r) => r.trim());
  if (reasons.some((r) => r !== "expired" && r !== "left"))
    throw new UsageError(`--reasons must list expired and/or left, got ${JSON.stringify(raw)}`);
  return reasons as ("expired" | "left")[];
}

/** The environment a departure's command runs with. */
export function departureEnv(departure: Departure, attempt: number): Record<string, string> {
  return {
    ROLLCALL_GROUP: departure.group,
    ROLLCALL_MEMBER_ID: departure.memberId,
    ROLLCALL_MEMBER_SEQ: departure.seq.toString(),
    ROLLCALL_MEMBER_METADATA: JSON.stringify(departure.metadata),
    ROLLCALL_LEAVE_REASON: departure.reason,
    ROLLCALL_IDEMPOTENCY_KEY: departure.key,
    ROLLCALL_ATTEMPT: String(attempt),
  };
}

function departureJson(d: Departure): Record<string, unknown> {
  return {
    memberId: d.memberId,
    seq: d.seq.toString(),
    reason: d.reason,
    departedAt: d.departedAt.toISOString(),
    key: d.key,
    metadata: d.metadata,
  };
}

/**
 * `rollcall react <group> [--election NAME] [--grace MS] [--brake F/W|off] [--reasons expired,left] -- <command…>`:
 * stands by as a reactor; while acting, runs the command once per departed member with the departure in
 * its environment (`ROLLCALL_MEMBER_ID`, `ROLLCALL_MEMBER_METADATA`, `ROLLCALL_LEAVE_REASON`,
 * `ROLLCALL_IDEMPOTENCY_KEY`, `ROLLCALL_FENCING_TOKEN`, …). Exit status 0 records the departure as
 * handled; any other is retried with backoff. The command is stopped (as `campaign` does) when the
 * leadership may be lost. `--release` releases the brake; `--status` prints the stored state.
 */
export async function reactCommand(
  coord: Coordinator,
  args: Args,
  out: Print,
  report: Print,
  stop: AbortSignal,
): Promise<number> {
  const group = positional(args, "group");
  const name = option(args, "election") ?? group;
  if (args.flags.has("release")) {
    const released = await releaseReactor(coord, name);
    out(released ? `released the brake of reactor ${name}` : `the brake of reactor ${name} was not engaged`);
    return 0;
  }
  if (args.flags.has("status")) {
    const status = await reactorStatus(coord, name);
    if (args.flags.has("json")) {
      out(
        JSON.stringify({
          reactor: name,
          token: status.token.toString(),
          brake: status.brake ?? null,
          pending: status.pending.map((d) => ({
            ...departureJson(d),
            attempts: d.attempts,
            ...(d.lastError === undefined ? {} : { lastError: d.lastError }),
          })),
        }),
      );
    } else {
      const brake = status.brake?.engaged
        ? `BRAKED since ${status.brake.since.toISOString()} (${status.brake.departures} of ${status.brake.size} left) — release with: rollcall react ${group} --release`
        : "not braked";
      out(`reactor ${name}: ${brake}; fencing token ${status.token}; ${status.pending.length} pending`);
      for (const d of status.pending)
        out(
          `  ${d.key}  ${d.reason}  since ${d.departedAt.toISOString()}${d.attempts > 0 ? `  attempts ${d.attempts}` : ""}${d.lastError ? `  last error: ${d.lastError}` : ""}`,
        );
    }
    return 0;
  }
  if (args.rest.length === 0) throw new UsageError("missing the command to run after --");
  const command = args.rest;
  const grace = intOption(args, "grace", 0);
  const brake = parseBrake(option(args, "brake"));
  const reasons = parseReasons(option(args, "reasons"));
  const stopGrace = Math.max(50, Math.floor(coord.sessionTimeout / 10));
  const address = await httpAddress(args);
  const reactor = await coord.reactor(
    group,
    async (departure, { leadership, attempt }) => {
      report(
        `rollcall: ${departure.memberId} left ${group} (${departure.reason}): running the command (attempt ${attempt})`,
      );
      const end = await runWhileLeading(
        command,
        leadership,
        stop,
        stopGrace,
        departureEnv(departure, attempt),
      );
      if (end.kind === "exited" && end.code === 0) return;
      throw new Error(
        end.kind === "exited" ? `the command exited with status ${end.code}` : "the command was stopped",
      );
    },
    {
      name,
      grace,
      ...(brake === undefined ? {} : { brake }),
      ...(reasons === undefined ? {} : { reasons }),
    },
  );
  reactor.on("state", (state) => report(`rollcall: reactor ${name} ${state}`));
  reactor.on("handled", (d) => report(`rollcall: handled ${d.key}`));
  reactor.on("failed", (d, error, attempt, retryIn) =>
    report(
      `rollcall: ${d.key} failed (attempt ${attempt}): ${String((error as Error)?.message ?? error)}; retry in ${Math.round(retryIn)} ms`,
    ),
  );
  reactor.on("braked", (s) =>
    report(
      `rollcall: BRAKED — ${s.departures} of ${s.size} members left at once; nothing runs until: rollcall react ${group} --release`,
    ),
  );
  reactor.on("released", (by) => report(`rollcall: brake released (${by})`));
  const http = await startHttpSidecar(
    coord,
    address,
    { groups: [group], elections: [`reactor.${name}`], reactors: [reactor] },
    report,
  );
  report(`rollcall: reactor ${name} on ${group} standing by`);
  try {
    await new Promise<void>((resolve) => {
      if (stop.aborted) resolve();
      else stop.addEventListener("abort", () => resolve(), { once: true });
    });
  } finally {
    await reactor.close();
    await http.close();
  }
  return 0;
}
