/**
 * The guard between `rollcall campaign` / `rollcall lock` and the command they run. It starts the
 * command in its own process group and kills that group (SIGKILL) as soon as
 * - the validity deadline the parent last sent has passed (the parent may be frozen or partitioned:
 *   its leadership may be lost, so the command must stop before another leader can start), or
 * - the parent is gone (its pipe on fd 3 closed: it crashed or was killed).
 * The parent writes JSON lines on fd 3: `{"validUntil": <epoch ms>}` to extend, `{"stop": <grace ms>}`
 * to stop (SIGTERM, then SIGKILL after the grace). The guard exits with the command's status, or 3
 * when it had to stop the command because leadership ran out.
 */
import { spawn } from "node:child_process";
import { Socket } from "node:net";
import { createInterface } from "node:readline";

const [command, ...args] = process.argv.slice(2);
if (!command) {
  process.stderr.write("rollcall guard: no command\n");
  process.exit(2);
}
let validUntil = Number(process.env.ROLLCALL_VALID_UNTIL ?? "0");
const child = spawn(command, args, { stdio: "inherit", detached: true });
let stopping = false;

function killGroup(signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

// A deadline seen passed in the timers phase is judged again in the check phase, after the poll phase
// has read what the parent already wrote: a guard that started slowly (a loaded machine) finds
// extensions waiting in the pipe, and must not stop a command whose leadership they keep valid.
const deadline = setInterval(() => {
  if (Date.now() < validUntil || stopping) return;
  setImmediate(() => {
    if (Date.now() < validUntil || stopping) return;
    stopping = true;
    process.stderr.write("rollcall: leadership validity ran out: stopping the command\n");
    killGroup("SIGKILL");
    process.exitCode = 3;
  });
}, 20);

// A socket, not a file stream: the pipe is read in the event loop's poll phase, not on the thread pool,
// so data already written is seen before the deadline is judged (above).
const control = createInterface({ input: new Socket({ fd: 3, readable: true, writable: false }) });
control.on("line", (line) => {
  const message = JSON.parse(line) as { validUntil?: number; stop?: number };
  if (message.validUntil !== undefined) validUntil = message.validUntil;
  if (message.stop !== undefined && !stopping) {
    stopping = true;
    killGroup("SIGTERM");
    setTimeout(() => killGroup("SIGKILL"), message.stop).unref();
  }
});
control.on("close", () => {
  // The parent is gone: nothing vouches for the leadership any more.
  if (!stopping) {
    stopping = true;
    killGroup("SIGKILL");
  }
});

child.on("exit", (code, signal) => {
  clearInterval(deadline);
  if (process.exitCode === undefined) process.exitCode = code ?? (signal ? 128 + 9 : 1);
  process.exit();
});
child.on("error", (error) => {
  process.stderr.write(`rollcall: cannot run ${command}: ${error.message}\n`);
  process.exit(127);
});
