import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  isAlive,
  type ProcessServer,
  type ProcessServerOptions,
  portLockDir,
  ServerStartError,
  startProcessServer,
} from "../src/index.js";

/** A Redis started as an arbitrary program: the package knows nothing of it but its command line. */
const redisLike: ProcessServerOptions = {
  name: "redis-like",
  command: ({ host, port, dir }) => ({
    command: "redis-server",
    args: ["--port", String(port), "--bind", host, "--save", "", "--dir", dir],
  }),
  url: ({ host, port }) => `redis://${host}:${port}`,
};

/** Send `PING` on a new connection; resolve with the first reply line, reject after `timeoutMs`. */
function ping(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1" }, () => socket.write("PING\r\n"));
    let received = "";
    const finish = (error: Error | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      if (error === undefined) resolve(received.slice(0, received.indexOf("\r\n")));
      else reject(error);
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
      if (received.includes("\r\n")) finish(undefined);
    });
    socket.once("error", finish);
    socket.once("close", () => finish(new Error("closed without an answer")));
  });
}

/** Whether a connection to the port is refused (false when it is accepted; bounded by 2 s). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    const done = (value: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(false), 2000);
    socket.once("connect", () => done(false));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code === "ECONNREFUSED"));
  });
}

/** The port locks this process holds. */
function ownPortLocks(): string[] {
  return readdirSync(portLockDir()).filter((file) => {
    try {
      return Number.parseInt(readFileSync(join(portLockDir(), file), "utf8"), 10) === process.pid;
    } catch {
      return false;
    }
  });
}

describe("startProcessServer", () => {
  let parent: string;
  let server: ProcessServer;
  let given: { host: string; port: number; dir: string } | undefined;

  beforeAll(async () => {
    parent = mkdtempSync(join(tmpdir(), "rollcall-process-server-test-"));
    server = await startProcessServer({
      ...redisLike,
      tmpDir: parent,
      command: (at) => {
        given = at;
        return redisLike.command(at);
      },
    });
  });

  afterAll(async () => {
    await server?.close();
    rmSync(parent, { recursive: true, force: true });
  });

  it("runs the program on a reserved port and names it in the URL", async () => {
    const node = server.nodes[0]!;
    expect(server.name).toBe("redis-like");
    expect(server.nodes).toHaveLength(1);
    expect(node.name).toBe("redis-like-1");
    expect(node.ports).toEqual({ client: node.port });
    expect(server.url).toBe(`redis://127.0.0.1:${node.port}`);
    expect(given).toEqual({ host: "127.0.0.1", port: node.port, dir: join(node.dir, "data") });
    expect(server.dir.startsWith(join(parent, "rollcall-redis-like-"))).toBe(true);
    expect(node.dir.startsWith(`${server.dir}/`)).toBe(true);
    expect(existsSync(given?.dir ?? "")).toBe(true);
    expect(node.running).toBe(true);
    expect(isAlive(node.pid)).toBe(true);
    expect(await ping(node.port, 2000)).toBe("+PONG");
    expect(node.logTail()).toMatch(/redis-server --port/);
  });

  it("kill() makes the port refuse; start() brings it back on the same port", async () => {
    const node = server.nodes[0]!;
    const pid = node.pid;
    await node.kill();
    expect(node.running).toBe(false);
    expect(isAlive(pid)).toBe(false);
    expect(await refused(node.port)).toBe(true);
    await node.start();
    expect(node.pid).not.toBe(pid);
    expect(server.url).toBe(`redis://127.0.0.1:${node.port}`);
    expect(await ping(node.port, 2000)).toBe("+PONG");
  });

  it("stop() is graceful and restart() comes back ready", async () => {
    const node = server.nodes[0]!;
    await node.stop();
    expect(node.running).toBe(false);
    expect(await refused(node.port)).toBe(true);
    expect(node.logTail(50)).toMatch(/SIGTERM/); // redis logs the signal it shuts down on
    await node.start();
    const pid = node.pid;
    await node.restart();
    expect(node.pid).not.toBe(pid);
    expect(await ping(node.port, 2000)).toBe("+PONG");
  });

  it("pause() leaves a PING unanswered; resume() answers again", async () => {
    const node = server.nodes[0]!;
    node.pause();
    try {
      expect(node.paused).toBe(true);
      await expect(ping(node.port, 300)).rejects.toThrow(/no answer within 300 ms/);
    } finally {
      node.resume();
    }
    expect(node.paused).toBe(false);
    expect(await ping(node.port, 2000)).toBe("+PONG");
  });

  it("close() kills the program, removes the directory and releases the port", async () => {
    const victim = await startProcessServer({ ...redisLike, tmpDir: parent });
    const node = victim.nodes[0]!;
    const pid = node.pid;
    const locks = ownPortLocks();
    expect(locks).toContain(String(node.port));
    expect(existsSync(victim.dir)).toBe(true);
    await victim.close();
    expect(victim.closed).toBe(true);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(victim.dir)).toBe(false);
    expect(await refused(node.port)).toBe(true);
    expect(ownPortLocks()).not.toContain(String(node.port));
    await victim.close(); // twice is fine
  });

  it("await using closes it at the end of the scope", async () => {
    let dir = "";
    let pid = 0;
    {
      await using scoped = await startProcessServer({ ...redisLike, tmpDir: parent });
      dir = scoped.dir;
      pid = scoped.nodes[0]!.pid;
      expect(isAlive(pid)).toBe(true);
    }
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it("takes env (added to this process's) and an isReady probe", async () => {
    process.env.ROLLCALL_PROCESS_SERVER_INHERITED = "inherited";
    const child = [
      'const fs = require("node:fs");',
      "const [port, host, file] = process.argv.slice(1);",
      'require("node:net").createServer((s) => s.end()).listen(Number(port), host, () =>',
      "  fs.writeFileSync(file, JSON.stringify({ given: process.env.GIVEN, inherited: process.env.ROLLCALL_PROCESS_SERVER_INHERITED })));",
    ].join("\n");
    let marker = "";
    let probes = 0;
    try {
      await using custom = await startProcessServer({
        name: "node-listener",
        tmpDir: parent,
        command: ({ host, port, dir }) => {
          marker = join(dir, "ready.json");
          return {
            command: process.execPath,
            args: ["-e", child, String(port), host, marker],
            env: { GIVEN: "given" },
          };
        },
        url: ({ host, port }) => `kv://${host}:${port}`,
        isReady: async () => {
          probes++;
          return existsSync(marker);
        },
      });
      expect(probes).toBeGreaterThan(0);
      expect(JSON.parse(readFileSync(marker, "utf8"))).toEqual({ given: "given", inherited: "inherited" });
      expect(custom.url).toBe(`kv://127.0.0.1:${custom.nodes[0]!.port}`);
    } finally {
      delete process.env.ROLLCALL_PROCESS_SERVER_INHERITED;
    }
  });

  describe("failed starts leave nothing behind", () => {
    let empty: string;

    beforeAll(() => {
      empty = mkdtempSync(join(tmpdir(), "rollcall-process-server-fail-"));
    });

    afterAll(() => {
      rmSync(empty, { recursive: true, force: true });
    });

    /** Start with `options` in an empty parent directory; expect it to fail and leave no directory or lock. */
    async function failedStart(options: Partial<ProcessServerOptions>): Promise<unknown> {
      const locks = ownPortLocks();
      const error = await startProcessServer({ ...redisLike, tmpDir: empty, ...options }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(Error);
      expect(readdirSync(empty)).toEqual([]);
      expect(ownPortLocks()).toEqual(locks);
      return error;
    }

    it("a program not on PATH: a ServerStartError naming it", async () => {
      const error = await failedStart({
        command: () => ({ command: "rollcall-no-such-program", args: [] }),
      });
      expect(error).toBeInstanceOf(ServerStartError);
      expect((error as Error).message).toMatch(
        /^redis-like-1: cannot start: cannot find the program "rollcall-no-such-program" on PATH/,
      );
    });

    it("an absolute path that does not exist: a ServerStartError naming it", async () => {
      const missing = join(empty, "..", "rollcall-no-such-dir", "server");
      const error = await failedStart({ command: () => ({ command: missing, args: [] }) });
      expect(error).toBeInstanceOf(ServerStartError);
      expect((error as Error).message).toContain(missing);
      expect((error as Error).message).toMatch(/ENOENT/);
    });

    it("a program that exits at once: a ServerStartError with its exit", async () => {
      const error = await failedStart({
        startTimeoutMs: 10_000,
        command: () => ({ command: "false", args: [] }),
      });
      expect(error).toBeInstanceOf(ServerStartError);
      expect((error as Error).message).toMatch(/^redis-like-1: exited with code 1 before becoming ready/);
    });

    it("a program that exits with a status of its own, after writing to its log", async () => {
      const error = await failedStart({
        startTimeoutMs: 10_000,
        command: () => ({
          command: process.execPath,
          args: ["-e", 'console.error("bad configuration"); process.exit(3)'],
        }),
      });
      expect(error).toBeInstanceOf(ServerStartError);
      expect((error as Error).message).toMatch(/exited with code 3 before becoming ready/);
      expect((error as ServerStartError).logTail).toMatch(/bad configuration/);
    });

    it("a program that never becomes ready: a ServerStartError after startTimeoutMs, the program killed", async () => {
      let pidFile = "";
      let pid = 0;
      const started = Date.now();
      const error = await failedStart({
        startTimeoutMs: 500,
        command: ({ dir }) => {
          pidFile = join(dir, "pid");
          const source = `require("node:fs").writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`;
          return { command: process.execPath, args: ["-e", source] };
        },
        isReady: async () => {
          if (existsSync(pidFile)) pid = Number(readFileSync(pidFile, "utf8"));
          return false;
        },
      });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(error).toBeInstanceOf(ServerStartError);
      expect((error as Error).message).toMatch(/^redis-like-1: not ready within 500 ms/);
      expect(pid).toBeGreaterThan(0);
      expect(isAlive(pid)).toBe(false);
    });

    it("a failing command() or url(), and a bad name", async () => {
      await expect(
        failedStart({
          command: () => {
            throw new Error("no command for you");
          },
        }),
      ).resolves.toMatchObject({ message: "no command for you" });
      await expect(
        failedStart({
          url: () => {
            throw new Error("no url for you");
          },
        }),
      ).resolves.toMatchObject({ message: "no url for you" });
      await expect(failedStart({ name: "Bad Name" })).resolves.toBeInstanceOf(RangeError);
    });
  });
});
