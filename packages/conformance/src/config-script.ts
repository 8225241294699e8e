import { type Coordinator, type Json, RollcallError } from "@rollcall/core";

/**
 * What a configuration writer of the `config` suite does once it is told to go. Every variant names the
 * store it writes; versions travel as decimal strings (JSON has no bigint).
 *
 * - `increment`: read-modify-compare-and-set increments of one counter key until it has won `successes`
 *   of them; every increment it wins is reported as `won` (`value`, `version`), every compare-and-set it
 *   loses is checked (a `VERSION_MISMATCH` naming the key and a newer version) and counted.
 * - `churn`: `writes` unconditional writes, in order, to its own keys and to keys every writer shares, with
 *   a delete now and then; each value is `{ writer, seq }`. The last write puts `<writer>/done`.
 * - `write`: puts `entries` (after joining `join`, when given, so a watcher can see its session end) and
 *   stays connected until it is closed or killed.
 */
export type ConfigScript =
  | { kind: "increment"; store: string; key: string; successes: number }
  | { kind: "churn"; store: string; writer: string; shared: string[]; writes: number }
  | { kind: "write"; store: string; entries: { key: string; value: Json }[]; join?: string };

/** A writer's value in a `churn` script. */
export interface ChurnValue {
  writer: string;
  seq: number;
}

/** The keys a `churn` writer writes: its own (`<writer>/a` …) and the shared ones. */
export function churnKey(script: Extract<ConfigScript, { kind: "churn" }>, seq: number): string {
  if (seq === script.writes - 1) return `${script.writer}/done`;
  const shared = script.shared[seq % script.shared.length];
  if (seq % 3 === 0 && shared !== undefined) return shared;
  return `${script.writer}/${"abc"[seq % 3]}`;
}

/** Whether write `seq` of a `churn` script deletes its key instead of putting it. */
export function churnDeletes(script: Extract<ConfigScript, { kind: "churn" }>, seq: number): boolean {
  return seq !== script.writes - 1 && seq % 5 === 4;
}

/** A connected writer, waiting for `go`. */
export interface RunningConfigScript {
  /** Runs the script's writes; resolves once it is done (reported as `done`) or failed (`error`). */
  go(): Promise<void>;
}

function describeError(error: unknown): string {
  return RollcallError.isInstance(error) ? `${error.code}: ${error.message}` : String(error);
}

/**
 * Prepares `script` on a connected coordinator (joins its group, if any) and reports `ready`; `go()` runs
 * it, reporting each write through `send`. Shared by writer processes and in-process writers.
 */
export async function startConfigScript(
  coord: Coordinator,
  script: ConfigScript,
  send: (message: Record<string, unknown>) => void,
): Promise<RunningConfigScript> {
  coord.on("session", (state, previous) => send({ type: "session", state, previous }));
  const cfg = coord.config(script.store);
  if (script.kind === "write" && script.join !== undefined) {
    await coord.join(script.join, { createGroup: true });
  }
  send({ type: "ready", sessionTimeout: coord.sessionTimeout });
  const run = async (): Promise<void> => {
    if (script.kind === "increment") {
      let won = 0;
      let conflicts = 0;
      while (won < script.successes) {
        const current = await cfg.get(script.key);
        const value = typeof current?.value === "number" ? current.value : 0;
        const expected = current?.version ?? 0n;
        try {
          const version = await cfg.set(script.key, value + 1, { ifVersion: expected });
          won++;
          send({ type: "won", value: value + 1, version: String(version) });
        } catch (error) {
          if (!RollcallError.hasCode(error, "VERSION_MISMATCH")) throw error;
          conflicts++;
          const found = error.version;
          if (error.key !== script.key || found === undefined || found <= expected) {
            throw new Error(
              `a lost compare-and-set at version ${expected} of ${JSON.stringify(script.key)} reported key ${JSON.stringify(error.key)} at version ${found}: it must name the key and a newer version`,
            );
          }
        }
      }
      send({ type: "done", won, conflicts });
    } else if (script.kind === "churn") {
      for (let seq = 0; seq < script.writes; seq++) {
        const key = churnKey(script, seq);
        if (churnDeletes(script, seq)) {
          const existed = await cfg.delete(key);
          send({ type: "deleted", key, seq, existed });
        } else {
          const value: ChurnValue = { writer: script.writer, seq };
          const version = await cfg.set(key, { ...value });
          send({ type: "wrote", key, seq, version: String(version) });
        }
      }
      send({ type: "done", writes: script.writes });
    } else {
      const versions: Record<string, string> = {};
      for (const { key, value } of script.entries) versions[key] = String(await cfg.set(key, value));
      send({ type: "done", versions });
    }
  };
  return {
    go: () =>
      run().catch((error: unknown) => {
        send({ type: "error", message: describeError(error) });
      }),
  };
}
