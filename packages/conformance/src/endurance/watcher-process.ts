/**
 * The soak's watcher in its own process: connects, follows one group with a view and a raw watch
 * ({@link WatchTally}), and answers `report` commands on stdin with a JSON line on stdout. Started by
 * {@link ChildWatcher}; not part of the public API.
 */
import { createInterface } from "node:readline";
import { connect } from "@rollcall/core";
import { WatchTally } from "./watch-tally.js";

interface Config {
  url: string;
  memberId: string;
  group: string;
  modules: string[];
}

function send(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.ROLLCALL_WATCHER_CONFIG ?? "{}") as Config;
  for (const specifier of config.modules) await import(specifier);
  const coord = await connect(config.url, { memberId: config.memberId });
  await coord.createGroup(config.group).catch(() => {});
  const tally = new WatchTally(coord, config.group);
  await tally.start();
  send({ type: "ready" });
  for await (const line of createInterface({ input: process.stdin })) {
    const { cmd } = JSON.parse(line) as { cmd: string };
    if (cmd === "report") send({ type: "report", report: tally.snapshot() });
    else if (cmd === "close") {
      await tally.stop();
      await coord.close();
      send({ type: "closed" });
      process.exit(0);
    }
  }
}

main().catch((error: unknown) => {
  send({ type: "fatal", message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
