import { type Coordinator, RollcallError } from "@rollcall/core";
import { type Args, option, parseArgs } from "./args.js";
import { configCommand } from "./commands/config.js";
import { joinCommand, watchCommand } from "./commands/live.js";
import { reactCommand } from "./commands/react.js";
import { groupsCommand, leaderCommand, membersCommand, statusCommand } from "./commands/read.js";
import { campaignCommand, lockCommand } from "./commands/supervise.js";
import { defaultMemberId, open, redactUrl, resolveUrl } from "./connection.js";
import { describeError, EXIT, UsageError } from "./errors.js";
import { HELP } from "./help.js";

const VALUED = [
  "url",
  "id",
  "meta",
  "seats",
  "timeout",
  "grace",
  "computes",
  "duration",
  "http",
  "listen",
  "keys",
  "if-version",
  "prefix",
  "election",
  "brake",
  "reasons",
];
const FLAGS = ["json", "help", "no-create", "non-interactive", "string", "release", "status"];

/** Where the command writes. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT / SIGTERM. */
  stop: AbortSignal;
}

type Command = (coord: Coordinator, args: Args, io: CliIo, url: string) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  groups: (c, a, io) => groupsCommand(c, a, io.out),
  members: (c, a, io) => membersCommand(c, a, io.out),
  leader: (c, a, io) => leaderCommand(c, a, io.out),
  status: (c, a, io, url) => statusCommand(c, a, io.out, url),
  watch: (c, a, io) => watchCommand(c, a, io.out, io.stop),
  join: (c, a, io) => joinCommand(c, a, io.out, io.stop, io.err),
  campaign: (c, a, io) => campaignCommand(c, a, io.err, io.stop),
  lock: (c, a, io) => lockCommand(c, a, io.err, io.stop),
  config: (c, a, io) => configCommand(c, a, io.out, io.stop),
  react: (c, a, io) => reactCommand(c, a, io.out, io.err, io.stop),
  // Loaded on use: the dashboard and prom-client cost every other command ~0.5 s of start-up.
  serve: async (c, a, io, url) =>
    (await import("./commands/serve.js")).serveCommand(c, a, io.out, io.stop, url),
};

/** Runs the `rollcall` command line; resolves with the exit status. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(HELP.main as string);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "--version") {
    io.out("rollcall 0.0.0");
    return EXIT.ok;
  }
  if (name !== "demo" && !(name in COMMANDS)) {
    io.err(`rollcall: unknown command ${JSON.stringify(name)} (see rollcall --help)`);
    return EXIT.usage;
  }
  let coord: Coordinator | undefined;
  try {
    const args = parseArgs(rest, VALUED, FLAGS);
    if (args.flags.has("help")) {
      io.out(HELP[name] as string);
      return EXIT.ok;
    }
    const url = resolveUrl(option(args, "url"), io.env);
    if (name === "demo") {
      const { demoCommand } = await import("./demo/demo.js");
      return await demoCommand(args, io, url);
    }
    coord = await open(url, option(args, "id") ?? defaultMemberId());
    const command = COMMANDS[name] as Command;
    return await command(coord, args, io, redactUrl(url));
  } catch (error) {
    io.err(`rollcall: ${describeError(error)}`);
    return error instanceof UsageError
      ? EXIT.usage
      : RollcallError.hasCode(error, "VERSION_MISMATCH")
        ? EXIT.versionMismatch
        : EXIT.failure;
  } finally {
    await coord?.close().catch(() => {});
  }
}
