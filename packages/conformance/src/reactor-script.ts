import { existsSync } from "node:fs";
import { type Coordinator, type Reactor, type ReactorOptions, RollcallError } from "@rollcall/core";
import { appendRun, readRuns } from "./reactor-runs.js";

/** What a kit reactor does once connected: `coord.reactor(group, handler, options)` with a handler that leaves a trace. */
export interface ReactorScript {
  /** The group to react to. */
  group: string;
  /** The reactor's options (JSON: they travel to the child process in its environment). */
  options?: ReactorOptions;
  /** The side-effect file: every handler run appends one {@link ReactorRun} line to it first. */
  effects: string;
  /**
   * A path: the first run of a departure (no line for its key in {@link effects} yet) then blocks until a
   * file exists there, ignoring its abort signal — a handler caught mid-way, for the test to kill or freeze
   * the process in. A later run of the same key (by the next actor) does not block.
   */
  holdUntil?: string;
}

function describeError(error: unknown): string {
  return RollcallError.isInstance(error) ? `${error.code}: ${error.message}` : String(error);
}

/**
 * Starts `script`'s reactor on a connected coordinator and reports what it does through `send`: `session`
 * changes, every `state` (the current one first, then each change), `running` (a handler run began:
 * `key`, `token`, `attempt`), `handled` (recorded: `key`, `ms`), `failed`, `braked` (`departures`,
 * `size`) and `released` (`by`), then `ready`. `died` (in-process reactors) aborts when the test "kills"
 * it: a blocked handler then gives up, as a killed process would. Shared by reactor processes and
 * in-process reactors.
 */
export async function runReactorScript(
  coord: Coordinator,
  script: ReactorScript,
  send: (message: Record<string, unknown>) => void,
  died?: AbortSignal,
): Promise<Reactor> {
  coord.on("session", (state, previous) => send({ type: "session", state, previous }));
  const reactor = await coord.reactor(
    script.group,
    async (departure, { token, attempt }) => {
      const first = !readRuns(script.effects).some((run) => run.key === departure.key);
      appendRun(script.effects, {
        key: departure.key,
        memberId: departure.memberId,
        seq: String(departure.seq),
        token: String(token),
        reactor: coord.memberId,
        pid: process.pid,
        attempt,
        at: Date.now(),
      });
      send({ type: "running", key: departure.key, token: String(token), attempt, reason: departure.reason });
      const hold = script.holdUntil;
      if (hold === undefined || !first) return;
      while (!existsSync(hold)) {
        if (died?.aborted) throw new Error("the reactor was killed");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    script.options,
  );
  reactor.on("state", (state) => send({ type: "state", state }));
  reactor.on("handled", (departure, ms) => send({ type: "handled", key: departure.key, ms }));
  reactor.on("failed", (departure, error, attempt, retryIn) =>
    send({ type: "failed", key: departure.key, error: describeError(error), attempt, retryIn }),
  );
  reactor.on("braked", (status) =>
    send({ type: "braked", departures: status.departures, size: status.size }),
  );
  reactor.on("released", (by) => send({ type: "released", by }));
  send({ type: "state", state: reactor.state });
  send({ type: "ready", sessionTimeout: coord.sessionTimeout });
  return reactor;
}
