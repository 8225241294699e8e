/**
 * A reactor in its own process, driven by the `reactor` suite: it connects, runs a reactor script (see
 * `reactor-script.ts`) and reports what the reactor does as JSON lines on stdout; `close` on stdin closes
 * the reactor and the coordinator and exits. Started by {@link ChildReactor}; not part of the public API.
 */
import { createInterface } from "node:readline";
import { connect } from "@rollcall/core";
import { type ReactorScript, runReactorScript } from "./reactor-script.js";

interface Config {
  url: string;
  memberId: string;
  modules: string[];
  script: ReactorScript;
}

function send(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...message, at: Date.now() })}\n`);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.ROLLCALL_REACTOR_CONFIG ?? "{}") as Config;
  for (const specifier of config.modules) await import(specifier);
  const coord = await connect(config.url, { memberId: config.memberId });
  const reactor = await runReactorScript(coord, config.script, send);
  for await (const line of createInterface({ input: process.stdin })) {
    const { cmd } = JSON.parse(line) as { cmd: string };
    if (cmd === "close") {
      await reactor.close();
      await coord.close();
      send({ type: "closed" });
      process.exit(0);
    }
  }
  // stdin closed: the test process is gone.
  process.exit(0);
}

main().catch((error: unknown) => {
  send({ type: "fatal", message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
