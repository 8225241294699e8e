#!/usr/bin/env node
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { installMissing } from "./install.js";
import { connectionEnvName, parseKind, SERVER_KINDS, startServer, urlEnvName } from "./start-server.js";
import type { Server, ServerKind } from "./types.js";

const HELP = `rollcall-servers: throwaway real servers for tests and benchmarks

Usage:
  rollcall-servers run <kind>... [--nodes 1|3] [--timeout <ms>] [--quiet] [-- <command> [args...]]
      Start the servers (every node ready), export their URLs, run the command, tear
      everything down, and exit with the command's status. Without a command, print the
      variables as shell exports and keep the servers up until SIGINT/SIGTERM.
  rollcall-servers install [<kind>...] [--print]
      Install the Debian packages of the kinds (default: all) whose programs are missing:
      apt-get update + apt-get install when root, else print the commands (exit 1).
  rollcall-servers --help

Kinds: zookeeper (zk), etcd, redis, postgres (postgresql, pg), mariadb (mysql)
  --nodes 3   runs ZooKeeper and etcd as 3-node clusters (other kinds stay single)

Environment given to the command, per kind started:
  ROLLCALL_ZOOKEEPER_URL  zookeeper://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3
  ROLLCALL_ETCD_URL       etcd://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3
  ROLLCALL_REDIS_URL      redis://127.0.0.1:p
  ROLLCALL_POSTGRES_URL   postgresql://postgres@127.0.0.1:p/postgres
  ROLLCALL_MARIADB_URL    mysql://root@127.0.0.1:p/rollcall
  and ROLLCALL_<KIND>_CONNECTION, the npm client's connection string
  (ZooKeeper "127.0.0.1:p1,...", etcd "http://127.0.0.1:p1,...", the others as the URL).

Exit status: the command's (128+n when it is killed by signal n); 1 when a server
fails to start; 2 on a usage error.
`;

class UsageError extends Error {}

interface RunArgs {
  kinds: ServerKind[];
  nodes: 1 | 3;
  timeoutMs: number | undefined;
  quiet: boolean;
  command: string[];
}

function parseRun(args: readonly string[]): RunArgs {
  const separator = args.indexOf("--");
  const own = separator < 0 ? args : args.slice(0, separator);
  const command = separator < 0 ? [] : args.slice(separator + 1);
  const result: RunArgs = { kinds: [], nodes: 1, timeoutMs: undefined, quiet: false, command };
  for (let i = 0; i < own.length; i++) {
    const arg = own[i] ?? "";
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? arg.split("=", 2) : [arg, undefined];
    const value = (): string => {
      const v = inline ?? own[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === "--nodes") {
      const n = Number(value());
      if (n !== 1 && n !== 3) throw new UsageError("--nodes must be 1 or 3");
      result.nodes = n;
    } else if (flag === "--timeout") {
      const ms = Number(value());
      if (!(ms > 0)) throw new UsageError("--timeout must be a positive number of milliseconds");
      result.timeoutMs = ms;
    } else if (flag === "--quiet" || flag === "-q") {
      result.quiet = true;
    } else if (arg.startsWith("-")) {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      const kind = parseKind(arg);
      if (kind === undefined) throw new UsageError(`unknown server kind ${arg}`);
      if (!result.kinds.includes(kind)) result.kinds.push(kind);
    }
  }
  if (result.kinds.length === 0) throw new UsageError("run: name at least one server kind");
  if (separator >= 0 && command.length === 0) throw new UsageError("run: no command after --");
  return result;
}

function say(quiet: boolean, line: string): void {
  if (!quiet) process.stderr.write(`rollcall-servers: ${line}\n`);
}

async function startAll(args: RunArgs): Promise<Server[]> {
  const started = Date.now();
  const results = await Promise.allSettled(
    args.kinds.map(async (kind) => {
      const t0 = Date.now();
      const server = await startServer(kind, { nodes: args.nodes, startTimeoutMs: args.timeoutMs });
      say(args.quiet, `${kind} ready in ${Date.now() - t0} ms: ${server.url}`);
      return server;
    }),
  );
  const servers = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    await Promise.all(servers.map((server) => server.close()));
    for (const failure of failures) {
      process.stderr.write(
        `rollcall-servers: ${failure instanceof Error ? failure.message : String(failure)}\n`,
      );
    }
    throw new Error("servers failed to start");
  }
  say(args.quiet, `all ready in ${Date.now() - started} ms`);
  return servers;
}

function serverEnv(servers: readonly Server[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const server of servers) {
    env[urlEnvName(server.kind)] = server.url;
    env[connectionEnvName(server.kind)] = server.connectionString;
  }
  return env;
}

const FORWARDED: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

function runCommand(command: readonly string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const [program = "", ...args] = command;
    const child = spawn(program, args, { stdio: "inherit", env: { ...process.env, ...env } });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const signal of FORWARDED) process.on(signal, forward);
    const done = (status: number): void => {
      for (const signal of FORWARDED) process.off(signal, forward);
      resolve(status);
    };
    child.once("error", (error) => {
      process.stderr.write(`rollcall-servers: cannot run ${program}: ${error.message}\n`);
      done(127);
    });
    child.once("exit", (code, signal) => {
      done(signal !== null ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
    });
  });
}

function waitForSignal(): Promise<number> {
  return new Promise((resolve) => {
    const keepAlive = setInterval(() => {}, 1 << 30);
    const handler = (): void => {
      clearInterval(keepAlive);
      for (const s of FORWARDED) process.off(s, handler);
      resolve(0);
    };
    for (const s of FORWARDED) process.on(s, handler);
  });
}

async function run(args: RunArgs): Promise<number> {
  let servers: Server[];
  try {
    servers = await startAll(args);
  } catch {
    return 1;
  }
  try {
    const env = serverEnv(servers);
    if (args.command.length === 0) {
      for (const [name, value] of Object.entries(env)) process.stdout.write(`export ${name}='${value}'\n`);
      say(args.quiet, "servers are up; press Ctrl-C to stop them");
      return await waitForSignal();
    }
    return await runCommand(args.command, env);
  } finally {
    await Promise.all(servers.map((server) => server.close()));
  }
}

function parseInstall(args: readonly string[]): { kinds: ServerKind[]; print: boolean } {
  let print = false;
  const kinds: ServerKind[] = [];
  for (const arg of args) {
    if (arg === "--print" || arg === "--dry-run") print = true;
    else if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
    else {
      const kind = parseKind(arg);
      if (kind === undefined) throw new UsageError(`unknown server kind ${arg}`);
      if (!kinds.includes(kind)) kinds.push(kind);
    }
  }
  return { kinds: kinds.length === 0 ? [...SERVER_KINDS] : kinds, print };
}

/**
 * The `rollcall-servers` command.
 *
 * @param argv - the arguments after the program name.
 * @returns the exit status.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [subcommand, ...rest] = argv;
  try {
    if (subcommand === undefined || subcommand === "--help" || subcommand === "-h" || subcommand === "help") {
      process.stdout.write(HELP);
      return subcommand === undefined ? 2 : 0;
    }
    if (subcommand === "run") return await run(parseRun(rest));
    if (subcommand === "install") {
      const { kinds, print } = parseInstall(rest);
      return installMissing(kinds, print);
    }
    throw new UsageError(`unknown command ${subcommand}`);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`rollcall-servers: ${error.message}\nTry rollcall-servers --help.\n`);
    return 2;
  }
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(
      `rollcall-servers: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
