/**
 * A participant of the stall checks in its own process: it connects through the observing twin of the
 * backend, runs a stall script and reports what it sees — and what its driver reports — as JSON lines on
 * stdout. Started by `ChildStallMember`; not part of the public API. It exits when its stdin closes (the test
 * process is gone).
 */
import { type StallProcessConfig, startStallScript } from "./stall-member.js";

function send(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...message, at: Date.now() })}\n`);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.ROLLCALL_STALL_CONFIG ?? "{}") as StallProcessConfig;
  process.stdin.on("end", () => process.exit(0));
  process.stdin.resume();
  for (const specifier of config.modules) await import(specifier);
  await startStallScript(config.url, config.memberId, config.script, send);
}

main().catch((error: unknown) => {
  send({ type: "fatal", message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
