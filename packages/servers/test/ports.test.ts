import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { portLockDir, portRange, reservePorts } from "../src/ports.js";
import { assertBuilt, packagePath } from "./built.js";

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1" }, () => server.close(() => resolve(true)));
  });
}

describe("reservePorts", () => {
  const savedRange = process.env.ROLLCALL_PORT_RANGE;

  beforeAll(() => assertBuilt());

  afterEach(() => {
    if (savedRange === undefined) delete process.env.ROLLCALL_PORT_RANGE;
    else process.env.ROLLCALL_PORT_RANGE = savedRange;
  });

  it("hands out distinct free ports below the ephemeral range, locked until released", async () => {
    const [low, high] = portRange();
    const reservation = await reservePorts(20);
    const files = reservation.ports.map((port) => `${portLockDir()}/${port}`);
    expect(new Set(reservation.ports).size).toBe(20);
    for (const port of reservation.ports) {
      expect(port).toBeGreaterThanOrEqual(low);
      expect(port).toBeLessThan(high);
      expect(await canBind(port)).toBe(true);
    }
    for (const file of files) expect(readFileSync(file, "utf8").trim()).toBe(String(process.pid));
    reservation.release();
    for (const file of files) expect(existsSync(file)).toBe(false);
  });

  it("skips ports locked by a live process and takes over locks of dead ones", async () => {
    const base = 29_000 + Math.floor(Math.random() * 1000) * 3;
    process.env.ROLLCALL_PORT_RANGE = `${base}-${base + 2}`;
    const dead = spawnSync("true").pid ?? 0;
    const liveLock = `${portLockDir()}/${base}`;
    const deadLock = `${portLockDir()}/${base + 1}`;
    await reservePorts(0); // creates the lock directory
    writeFileSync(liveLock, "1\n", { flag: "wx" });
    writeFileSync(deadLock, `${dead}\n`, { flag: "wx" });
    try {
      const reservation = await reservePorts(2);
      expect([...reservation.ports].sort()).toEqual([base + 1, base + 2]);
      expect(readFileSync(deadLock, "utf8").trim()).toBe(String(process.pid));
      reservation.release();
      await expect(reservePorts(3)).rejects.toThrow(/cannot find 3 free ports/);
    } finally {
      rmSync(liveLock, { force: true });
      rmSync(deadLock, { force: true });
    }
  });

  it("never gives the same port to two processes reserving at the same time", async () => {
    const base = 20_000 + Math.floor(Math.random() * 30) * 400;
    const children: ChildProcess[] = [];
    try {
      const reports = await Promise.all(
        [0, 1, 2].map(
          (i) =>
            new Promise<number[]>((resolve, reject) => {
              const child = spawn(process.execPath, [packagePath("test/fixtures/reserve-ports.mjs"), "100"], {
                env: { ...process.env, ROLLCALL_PORT_RANGE: `${base}-${base + 399}` },
                stdio: ["pipe", "pipe", "inherit"],
              });
              children[i] = child;
              createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", (line) =>
                resolve(JSON.parse(line) as number[]),
              );
              child.once("exit", (code) => reject(new Error(`reserve-ports exited with ${code}`)));
            }),
        ),
      );
      const all = reports.flat();
      expect(all).toHaveLength(300);
      expect(new Set(all).size).toBe(300);
    } finally {
      for (const child of children) child.stdin?.end();
      await Promise.all(children.map((child) => new Promise((resolve) => child.once("exit", resolve))));
    }
  });
});
