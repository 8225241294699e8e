import type { Coordinator, Leadership } from "@rollcall/core";
import { type Args, intOption, option, positional } from "../args.js";
import { UsageError } from "../errors.js";
import { httpAddress, startHttpSidecar } from "../http-sidecar.js";
import type { Print } from "../output.js";
import { runWhileLeading } from "../supervised-command.js";

/** The command as shown in reports: shortened, so a long inline script does not flood the terminal. */
function shown(command: string[]): string {
  const text = command.join(" ");
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function grace(args: Args, coord: Coordinator): number {
  return intOption(args, "grace", Math.max(50, Math.floor(coord.sessionTimeout / 10)));
}

function needCommand(args: Args): string[] {
  if (args.rest.length === 0) throw new UsageError("missing the command to run after --");
  return args.rest;
}

/**
 * `rollcall campaign <election> [--seats N] -- <command…>`: runs the command only while holding a seat;
 * stops it when leadership may be lost (before anyone else can be elected), and starts it again when
 * leadership is regained. When the command exits by itself, resigns and exits with its status.
 */
export async function campaignCommand(
  coord: Coordinator,
  args: Args,
  report: Print,
  stop: AbortSignal,
): Promise<number> {
  const name = positional(args, "election");
  const command = needCommand(args);
  const seats = intOption(args, "seats", 1, 1);
  const address = await httpAddress(args);
  const election = coord.election(name, { seats });
  coord.on("session", (state, previous) => report(`rollcall: session ${previous} → ${state}`));
  const http = await startHttpSidecar(coord, address, { elections: [name] }, report);
  try {
    while (!stop.aborted) {
      let leadership: Leadership;
      try {
        leadership = await election.campaign({ signal: stop });
      } catch (error) {
        if (stop.aborted) break;
        throw error;
      }
      report(`rollcall: elected in ${name} (token ${leadership.token}): starting ${shown(command)}`);
      const end = await runWhileLeading(command, leadership, stop, grace(args, coord));
      if (end.kind === "lost") {
        report(`rollcall: leadership of ${name} may be lost: command stopped; campaigning again`);
        // Withdraw first: the candidacy may still hold its seat (its validity ran out, the seat did not),
        // and a campaign while holding a seat is ALREADY_HELD.
        await leadership.resign().catch(() => {});
        continue;
      }
      await leadership.resign().catch(() => {});
      if (end.kind === "exited") {
        report(`rollcall: command exited with status ${end.code}; resigned`);
        return end.code;
      }
    }
    return 0;
  } finally {
    await http.close();
  }
}

/** `rollcall lock <name> [--timeout ms] -- <command…>`: runs the command holding the lock; exits with its status. */
export async function lockCommand(
  coord: Coordinator,
  args: Args,
  report: Print,
  stop: AbortSignal,
): Promise<number> {
  const name = positional(args, "name");
  const command = needCommand(args);
  const timeout = option(args, "timeout") === undefined ? undefined : intOption(args, "timeout", 0);
  const address = await httpAddress(args);
  const http = await startHttpSidecar(coord, address, { locks: [name] }, report);
  try {
    const held = await coord
      .lock(name)
      .acquire({ signal: stop, ...(timeout === undefined ? {} : { timeout }) });
    report(`rollcall: holding lock ${name} (token ${held.token}): starting ${shown(command)}`);
    const end = await runWhileLeading(command, held, stop, grace(args, coord));
    await held.resign().catch(() => {});
    if (end.kind === "lost") {
      report(`rollcall: lock ${name} may be lost: command stopped`);
      return 3;
    }
    return end.kind === "exited" ? end.code : 0;
  } finally {
    await http.close();
  }
}
