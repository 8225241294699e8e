import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import type { Socket } from "node:net";
import { signalTree } from "./process-tree.js";

/**
 * The watchdog program, run with `node -e`. It reads JSON lines from stdin: `{"op":"pid","add":true,"value":123}`
 * registers a server process, `{"op":"path",...}` a file or directory, `{"op":"shm",...}` a System V shared
 * memory id (PostgreSQL's) to remove once nothing is attached, `{"op":"cmd",...}` a command line (a JSON array)
 * to run at cleanup, such as `ip netns del …`. When stdin reaches EOF (the parent
 * exited, crashed or was SIGKILLed: the kernel closes the pipe in every case), or when the watchdog itself gets
 * SIGTERM/SIGINT/SIGHUP, it SIGKILLs every registered process with its descendants, waits for them to die,
 * runs every registered command, removes every registered path and orphaned segment, and exits.
 */
const WATCHDOG_SOURCE = String.raw`
"use strict";
const fs = require("fs");
const childProcess = require("child_process");
const pids = new Set();
const paths = new Set();
const shms = new Set();
const cmds = new Set();
let buffer = "";
let done = false;
function stat(pid) {
  try {
    const text = fs.readFileSync("/proc/" + pid + "/stat", "utf8");
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { state: f[0], ppid: Number(f[1]) };
  } catch (e) { return undefined; }
}
function alive(pid) {
  const s = stat(pid);
  return s !== undefined && s.state !== "Z" && s.state !== "X";
}
function descendants(root) {
  const kids = new Map();
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const s = stat(Number(e));
    if (!s) continue;
    if (!kids.has(s.ppid)) kids.set(s.ppid, []);
    kids.get(s.ppid).push(Number(e));
  }
  const out = [];
  const queue = [root];
  while (queue.length) for (const k of kids.get(queue.shift()) || []) { out.push(k); queue.push(k); }
  return out;
}
function cleanup() {
  if (done) return;
  done = true;
  const victims = [];
  for (const pid of pids) {
    if (!alive(pid)) continue;
    victims.push(pid, ...descendants(pid));
    try { process.kill(-pid, "SIGKILL"); } catch (e) {}
  }
  for (const v of victims) { try { process.kill(v, "SIGKILL"); } catch (e) {} }
  const deadline = Date.now() + 10000;
  const finish = () => {
    if (victims.some(alive) && Date.now() < deadline) { setTimeout(finish, 10); return; }
    for (const c of cmds) {
      try { const argv = JSON.parse(c); childProcess.spawnSync(argv[0], argv.slice(1), { stdio: "ignore", timeout: 5000 }); } catch (e) {}
    }
    for (const p of paths) { try { fs.rmSync(p, { recursive: true, force: true, maxRetries: 5 }); } catch (e) {} }
    for (const id of shms) removeShm(id);
    process.exit(0);
  };
  finish();
}
function removeShm(id) {
  try {
    const row = fs.readFileSync("/proc/sysvipc/shm", "utf8").split("\n").slice(1)
      .map((l) => l.trim().split(/\s+/)).find((f) => Number(f[1]) === id);
    if (row && Number(row[6]) === 0) childProcess.spawnSync("ipcrm", ["-m", String(id)], { stdio: "ignore" });
  } catch (e) {}
}
function handle(line) {
  let m;
  try { m = JSON.parse(line); } catch (e) { return; }
  const set = m.op === "pid" ? pids : m.op === "path" ? paths : m.op === "shm" ? shms : m.op === "cmd" ? cmds : undefined;
  if (!set) return;
  if (m.add) set.add(m.value); else set.delete(m.value);
}
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  buffer += chunk;
  for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
    handle(buffer.slice(0, i));
    buffer = buffer.slice(i + 1);
  }
});
process.stdin.on("end", cleanup);
process.stdin.on("close", cleanup);
process.stdin.on("error", cleanup);
for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(s, cleanup);
`;

interface Message {
  op: "pid" | "path" | "shm" | "cmd";
  add: boolean;
  value: number | string;
}

/**
 * Certain cleanup of everything this process starts.
 *
 * A single watchdog process per parent (a `node -e` sidecar in its own session, so terminal signals do not
 * reach it) holds the read end of a pipe whose write end only the parent has. Whatever way the parent dies
 * (normal exit, uncaught exception, SIGINT, SIGTERM, SIGKILL), the kernel closes the pipe and the watchdog
 * SIGKILLs the registered server processes and removes the registered temporary directories and port locks.
 * On a normal `process.exit` the parent also SIGKILLs its servers synchronously, so they are gone at once.
 */
class Janitor {
  #child: ChildProcess | undefined;
  readonly #pids = new Set<number>();
  readonly #paths = new Set<string>();
  readonly #shms = new Set<number>();
  readonly #commands = new Set<string>();
  #exitHookInstalled = false;

  /** Register a server process (its descendants are found at cleanup time). */
  trackPid(pid: number): void {
    this.#pids.add(pid);
    this.#send({ op: "pid", add: true, value: pid });
  }

  /** Forget a process that has exited. */
  untrackPid(pid: number): void {
    this.#pids.delete(pid);
    this.#send({ op: "pid", add: false, value: pid });
  }

  /** Register a file or directory to remove. */
  trackPath(path: string): void {
    this.#paths.add(path);
    this.#send({ op: "path", add: true, value: path });
  }

  /** Forget a path that has been removed. */
  untrackPath(path: string): void {
    this.#paths.delete(path);
    this.#send({ op: "path", add: false, value: path });
  }

  /** Register a System V shared memory segment to remove once nothing is attached to it. */
  trackShm(shmid: number): void {
    this.#shms.add(shmid);
    this.#send({ op: "shm", add: true, value: shmid });
  }

  /** Forget a shared memory segment. */
  untrackShm(shmid: number): void {
    this.#shms.delete(shmid);
    this.#send({ op: "shm", add: false, value: shmid });
  }

  /**
   * Register a command line to run at cleanup, after the processes are killed (such as `ip netns del name`).
   * On a normal exit of this process it runs synchronously too.
   */
  trackCommand(argv: readonly string[]): void {
    const value = JSON.stringify(argv);
    this.#commands.add(value);
    this.#send({ op: "cmd", add: true, value });
  }

  /** Forget a cleanup command (its work was done another way). */
  untrackCommand(argv: readonly string[]): void {
    const value = JSON.stringify(argv);
    this.#commands.delete(value);
    this.#send({ op: "cmd", add: false, value });
  }

  /** The watchdog's pid, for tests (undefined before anything was registered). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  #send(message: Message): void {
    this.#installExitHook();
    const child = this.#ensureChild();
    child.stdin?.write(`${JSON.stringify(message)}\n`);
  }

  #ensureChild(): ChildProcess {
    const current = this.#child;
    if (current !== undefined && current.exitCode === null && current.signalCode === null) return current;
    const child = spawn(process.execPath, ["-e", WATCHDOG_SOURCE], {
      detached: true,
      stdio: ["pipe", "ignore", "ignore"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
    child.unref();
    const stdin = child.stdin as Socket | null;
    stdin?.unref();
    stdin?.on("error", () => {
      // The watchdog died; the next registration starts a new one.
    });
    child.on("exit", () => {
      if (this.#child === child) this.#child = undefined;
    });
    this.#child = child;
    // A replacement watchdog must learn everything still registered.
    const replay: Message[] = [
      ...[...this.#pids].map((value): Message => ({ op: "pid", add: true, value })),
      ...[...this.#paths].map((value): Message => ({ op: "path", add: true, value })),
      ...[...this.#shms].map((value): Message => ({ op: "shm", add: true, value })),
      ...[...this.#commands].map((value): Message => ({ op: "cmd", add: true, value })),
    ];
    for (const message of replay) stdin?.write(`${JSON.stringify(message)}\n`);
    return child;
  }

  #installExitHook(): void {
    if (this.#exitHookInstalled) return;
    this.#exitHookInstalled = true;
    process.on("exit", () => {
      for (const pid of this.#pids) signalTree(pid, "SIGKILL");
      for (const command of this.#commands) {
        const [file = "", ...args] = JSON.parse(command) as string[];
        spawnSync(file, args, { stdio: "ignore", timeout: 5000 });
      }
    });
  }
}

/** The process-wide janitor. */
export const janitor = new Janitor();
