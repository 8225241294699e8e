/**
 * A configuration writer in its own process, driven by the `config` suite: it connects, prepares its
 * script, reports `ready`, and on `go` (stdin) runs it, reporting every write as a JSON line on stdout;
 * `close` closes the coordinator and exits. Started by {@link ChildConfigWriter}; not part of the public API.
 */
import { createInterface } from "node:readline";
import { connect } from "@rollcall/core";
import { type ConfigScript, startConfigScript } from "./config-script.js";

interface Config {
  url: string;
  memberId: string;
  modules: string[];
  script: ConfigScript;
}

function send(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...message, at: Date.now() })}\n`);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.ROLLCALL_CONFIG_WRITER ?? "{}") as Config;
  for (const specifier of config.modules) await import(specifier);
  const coord = await connect(config.url, { memberId: config.memberId });
  const running = await startConfigScript(coord, config.script, send);
  for await (const line of createInterface({ input: process.stdin })) {
    const { cmd } = JSON.parse(line) as { cmd: string };
    if (cmd === "go") void running.go();
    else if (cmd === "close") {
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
