import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { beforeAll, describe, expect, it } from "vitest";
import { isAlive, portLockDir, startPostgres, startRedis, startZooKeeper } from "../src/index.js";
import { descendants } from "../src/process-tree.js";
import { assertBuilt, packagePath } from "./built.js";
import { waitUntil } from "./helpers.js";

interface ChildReport {
  pid: number;
  port: number;
  dir: string;
  watchdog: number;
  shmid?: number;
}

function lockFile(port: number): string {
  return `${portLockDir()}/${port}`;
}

/** Whether a System V shared memory segment exists. */
function shmExists(shmid: number): boolean {
  return readFileSync("/proc/sysvipc/shm", "utf8")
    .split("\n")
    .slice(1)
    .some((line) => Number(line.trim().split(/\s+/)[1]) === shmid);
}

/** Start the fixture that starts a server; resolve with what it reports. */
async function startChild(kind: string, mode: string): Promise<{ child: ChildProcess; report: ChildReport }> {
  const child = spawn(process.execPath, [packagePath("test/fixtures/server-child.mjs"), kind, mode], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`fixture exited early (${code}): ${stderr}`)));
  });
  lines.close();
  return { child, report: JSON.parse(first) as ChildReport };
}

describe("cleanup", () => {
  beforeAll(() => assertBuilt());

  it("close() leaves no process, no temporary directory and no port lock", async () => {
    const server = await startZooKeeper({ nodes: 3 });
    const pids = server.nodes.map((n) => n.pid);
    const ports = server.nodes.flatMap((n) => Object.values(n.ports));
    expect(pids.every(isAlive)).toBe(true);
    expect(existsSync(server.dir)).toBe(true);
    expect(ports.every((p) => existsSync(lockFile(p)))).toBe(true);
    await server.close();
    expect(server.closed).toBe(true);
    expect(pids.some(isAlive)).toBe(false);
    expect(server.nodes.some((n) => n.running)).toBe(false);
    expect(existsSync(server.dir)).toBe(false);
    expect(ports.some((p) => existsSync(lockFile(p)))).toBe(false);
    await server.close(); // twice is fine
  });

  it("await using closes the server at the end of the scope", async () => {
    let pid = 0;
    let dir = "";
    {
      await using server = await startRedis();
      pid = server.nodes[0]?.pid ?? 0;
      dir = server.dir;
      expect(isAlive(pid)).toBe(true);
    }
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  for (const [mode, trigger] of [
    ["SIGKILL of the parent", (child: ChildProcess) => child.kill("SIGKILL")],
    ["SIGTERM of the parent", (child: ChildProcess) => child.kill("SIGTERM")],
    ["SIGINT of the parent", (child: ChildProcess) => child.kill("SIGINT")],
    ["an uncaught exception in the parent", undefined],
    ["process.exit() without close()", undefined],
  ] as const) {
    it(`servers and directories go away after ${mode}`, async () => {
      const fixtureMode = mode.startsWith("an uncaught")
        ? "throw"
        : mode.startsWith("process.exit")
          ? "exit"
          : "wait";
      const { child, report } = await startChild("redis", fixtureMode);
      expect(isAlive(report.pid)).toBe(true);
      expect(existsSync(report.dir)).toBe(true);
      expect(isAlive(report.watchdog)).toBe(true);
      trigger?.(child);
      await waitUntil(
        "the server, its directory, its port lock and the watchdog to disappear",
        () =>
          !isAlive(report.pid) &&
          !existsSync(report.dir) &&
          !existsSync(lockFile(report.port)) &&
          !isAlive(report.watchdog),
        10_000,
      );
    });
  }

  it("PostgreSQL: backends and the shared memory segment go away too after SIGKILL of the parent", async () => {
    const { child, report } = await startChild("postgres", "wait");
    const processes = [report.pid, ...descendants(report.pid)];
    expect(processes.length).toBeGreaterThan(1);
    expect(report.shmid).toBeTypeOf("number");
    expect(shmExists(report.shmid ?? -1)).toBe(true);
    child.kill("SIGKILL");
    await waitUntil(
      "postgres processes, directory and shared memory to disappear",
      () => !processes.some(isAlive) && !existsSync(report.dir) && !shmExists(report.shmid ?? -1),
      10_000,
    );
  });

  it("PostgreSQL: close() after kill() removes the orphaned shared memory segment", async () => {
    const server = await startPostgres();
    const node = server.nodes[0];
    if (node === undefined) throw new Error("no node");
    const line = readFileSync(`${node.dir}/data/postmaster.pid`, "utf8").split("\n")[6] ?? "";
    const shmid = Number(line.trim().split(/\s+/)[1]);
    expect(shmExists(shmid)).toBe(true);
    await node.kill();
    expect(shmExists(shmid)).toBe(true);
    await server.close();
    expect(shmExists(shmid)).toBe(false);
  });
});
