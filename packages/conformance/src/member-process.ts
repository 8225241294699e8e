/**
 * A member in its own process, driven by the conformance kit: it connects, runs a member script and
 * reports what it sees as JSON lines on stdout; it takes commands (`close`, `resign`) on stdin.
 * Started by {@link ChildMember}; not part of the public API.
 */
import { createInterface } from "node:readline";
import { connect } from "@rollcall/core";
import { type MemberScript, runMemberScript } from "./member-script.js";

interface Config extends MemberScript {
  url: string;
  memberId: string;
  modules: string[];
}

function send(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...message, at: Date.now() })}\n`);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.ROLLCALL_MEMBER_CONFIG ?? "{}") as Config;
  for (const specifier of config.modules) await import(specifier);
  const coord = await connect(config.url, { memberId: config.memberId });
  const running = await runMemberScript(coord, config, send);
  for await (const line of createInterface({ input: process.stdin })) {
    const command = JSON.parse(line) as { cmd: string };
    if (command.cmd === "close") {
      running.stop();
      await coord.close();
      send({ type: "closed" });
      process.exit(0);
    } else if (command.cmd === "resign") {
      await running.resign();
      send({ type: "resigned" });
    }
  }
}

main().catch((error: unknown) => {
  send({ type: "fatal", message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
