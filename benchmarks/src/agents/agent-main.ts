/**
 * Entry of a rollcall agent process: JSON-line commands on stdin, replies and events on stdout.
 * Ends (closing its coordinators gracefully) when stdin closes.
 */
import { createInterface } from "node:readline";
import { now } from "../clock.js";
import { AgentHost } from "./agent-host.js";

function send(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const host = new AgentHost(send);

process.on("unhandledRejection", (error) => {
  send({ event: "error", where: "unhandled", message: String(error), at: now() });
});

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  let request: { id: number; cmd: string } & Record<string, unknown>;
  try {
    request = JSON.parse(line);
  } catch {
    return;
  }
  host.handle(request.cmd, request).then(
    (result) => send({ id: request.id, ok: true, result }),
    (error: unknown) =>
      send({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
lines.on("close", () => {
  const timer = setTimeout(() => process.exit(0), 10_000);
  host.close().finally(() => {
    clearTimeout(timer);
    process.exit(0);
  });
});

send({ event: "ready", pid: process.pid, at: now() });
