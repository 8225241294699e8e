import { respCommand } from "./resp-command.js";
import type { ServerCounter } from "./server-counter.js";

/** Redis's `INFO stats` `total_commands_processed`: every command, including those a Lua script runs. */
export function redisCounter(host: string, port: number): ServerCounter {
  return {
    label: "commands processed (INFO total_commands_processed; the commands inside Lua scripts count too)",
    async read() {
      const info = await respCommand(host, port, ["INFO", "stats"]);
      const match = /^total_commands_processed:(\d+)/m.exec(info);
      if (!match) throw new Error("INFO stats has no total_commands_processed");
      // This very INFO is counted too.
      return Number(match[1]) - 1;
    },
    async version() {
      const info = await respCommand(host, port, ["INFO", "server"]);
      return /^redis_version:(\S+)/m.exec(info)?.[1] ?? "unknown";
    },
    async close() {},
  };
}
