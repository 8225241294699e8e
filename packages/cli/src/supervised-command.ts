import { type ChildProcess, spawn } from "node:child_process";
import type { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { Leadership } from "@rollcall/core";

const guardScript = fileURLToPath(new URL("./guard.js", import.meta.url));

/** How a supervised command ended. */
export type CommandEnd = { kind: "exited"; code: number } | { kind: "lost" } | { kind: "stopped" };

/**
 * Runs `command` while `leadership` holds, through the guard (guard.ts): the guard kills it when the
 * validity deadline passes without an extension, when this process dies, or when asked to stop.
 * The command sees `ROLLCALL_FENCING_TOKEN` and `ROLLCALL_ELECTION` in its environment, and `env`.
 */
export async function runWhileLeading(
  command: string[],
  leadership: Leadership,
  stop: AbortSignal,
  graceMs: number,
  env: Record<string, string> = {},
): Promise<CommandEnd> {
  const guard: ChildProcess = spawn(process.execPath, [guardScript, ...command], {
    stdio: ["inherit", "inherit", "inherit", "pipe"],
    env: {
      ...process.env,
      ...env,
      ROLLCALL_FENCING_TOKEN: leadership.token.toString(),
      ROLLCALL_ELECTION: leadership.name,
      ROLLCALL_VALID_UNTIL: String(leadership.validUntil.getTime()),
    },
  });
  const pipe = guard.stdio[3] as Writable;
  pipe.on("error", () => {});
  const send = (message: object) => {
    if (!pipe.destroyed) pipe.write(`${JSON.stringify(message)}\n`);
  };
  const extend = setInterval(() => {
    if (leadership.isValid()) send({ validUntil: leadership.validUntil.getTime() });
  }, 50);
  let reason: "lost" | "stopped" | undefined;
  const onLost = () => {
    reason ??= "lost";
    send({ validUntil: 0, stop: graceMs });
  };
  const onStop = () => {
    reason ??= "stopped";
    send({ stop: graceMs });
  };
  leadership.signal.addEventListener("abort", onLost, { once: true });
  stop.addEventListener("abort", onStop, { once: true });
  if (leadership.signal.aborted) onLost();
  if (stop.aborted) onStop();
  const code = await new Promise<number>((resolve) =>
    guard.on("exit", (c, s) => resolve(c ?? (s ? 137 : 1))),
  );
  clearInterval(extend);
  leadership.signal.removeEventListener("abort", onLost);
  stop.removeEventListener("abort", onStop);
  pipe.destroy();
  if (reason !== undefined) return { kind: reason };
  if (code === 3 && !leadership.isValid()) return { kind: "lost" };
  return { kind: "exited", code };
}
