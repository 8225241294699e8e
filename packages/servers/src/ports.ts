import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { janitor } from "./janitor.js";
import { isAlive } from "./process-tree.js";

/** Lowest port handed out. */
const LOW_PORT = 10_000;

/**
 * A set of loopback ports reserved for one server, across processes, until {@link PortReservation.release}.
 */
export interface PortReservation {
  /** The reserved ports. */
  readonly ports: readonly number[];
  /** Remove the lock files. */
  release(): void;
}

/** The directory of cross-process port locks: `os.tmpdir()/rollcall-ports`. */
export function portLockDir(): string {
  return join(tmpdir(), "rollcall-ports");
}

/**
 * The range ports are drawn from, `[low, high)`. `ROLLCALL_PORT_RANGE=low-high` (inclusive) overrides it.
 * By default ports are taken below the kernel's ephemeral range, so outgoing connections (whose source ports
 * come from that range) can never take a port between our check and the server's bind.
 */
export function portRange(): [number, number] {
  const override = /^(\d+)-(\d+)$/.exec(process.env.ROLLCALL_PORT_RANGE ?? "");
  if (override !== null) {
    const low = Number(override[1]);
    const high = Number(override[2]) + 1;
    if (low >= 1024 && high <= 65_536 && low < high) return [low, high];
    throw new RangeError(
      `ROLLCALL_PORT_RANGE=${process.env.ROLLCALL_PORT_RANGE}: need 1024 <= low <= high <= 65535`,
    );
  }
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const ephemeralLow = Number(low);
    if (ephemeralLow - LOW_PORT >= 2000) return [LOW_PORT, ephemeralLow];
  } catch {
    // not Linux: fall through
  }
  return [LOW_PORT, 32_768];
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Create the lock file for a port with O_EXCL; steal it when its owner process is dead. */
function lockPort(dir: string, port: number): string | undefined {
  const file = join(dir, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return file;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let owner = Number.NaN;
    try {
      owner = Number.parseInt(readFileSync(file, "utf8"), 10);
    } catch {
      // removed meanwhile, or still being written: retry once
    }
    if (Number.isFinite(owner) && isAlive(owner)) return undefined;
    if (Number.isFinite(owner)) rmSync(file, { force: true });
  }
  return undefined;
}

/**
 * Reserve `count` free ports on `host` (127.0.0.1 unless told) that no other process using this package (in any process on the
 * machine) will hand out until released: a random port below the ephemeral range is checked with a bind and
 * locked with a lock file created with O_EXCL in {@link portLockDir}. The lock files are registered with the
 * watchdog, so they go away even if this process is SIGKILLed; a lock whose owner pid is dead is taken over.
 * See {@link portRange} for the range.
 *
 * @param count - how many ports.
 * @param host - the address the ports are checked on (the address the server will bind).
 */
export async function reservePorts(count: number, host = "127.0.0.1"): Promise<PortReservation> {
  const dir = portLockDir();
  mkdirSync(dir, { recursive: true });
  try {
    chmodSync(dir, 0o1777);
  } catch {
    // owned by another user, who made it shared already
  }
  const [low, high] = portRange();
  const ports: number[] = [];
  const files: string[] = [];
  const release = (): void => {
    for (const file of files.splice(0)) {
      rmSync(file, { force: true });
      janitor.untrackPath(file);
    }
  };
  try {
    for (let attempts = 0; ports.length < count; attempts++) {
      if (attempts > Math.max(500, 4 * (high - low))) {
        throw new Error(`cannot find ${count} free ports in ${low}-${high - 1}`);
      }
      const port = low + Math.floor(Math.random() * (high - low));
      if (ports.includes(port)) continue;
      const file = lockPort(dir, port);
      if (file === undefined) continue;
      janitor.trackPath(file);
      files.push(file);
      if (await canBind(port, host)) {
        ports.push(port);
      } else {
        files.pop();
        rmSync(file, { force: true });
        janitor.untrackPath(file);
      }
    }
  } catch (error) {
    release();
    throw error;
  }
  return { ports, release };
}
