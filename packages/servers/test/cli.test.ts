import { spawn } from "node:child_process";
import { connect } from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, packagePath } from "./built.js";

interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI; `onStdout` sees stdout as it arrives. */
function cli(args: readonly string[], onStdout?: (text: string, pid: number) => void): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [packagePath("dist/cli.js"), ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      onStdout?.(stdout, child.pid ?? 0);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

/** A node one-liner that prints the ROLLCALL_ variables as JSON and exits with `status`. */
function printEnv(status: number): string[] {
  return [
    process.execPath,
    "-e",
    `console.log(JSON.stringify(Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("ROLLCALL_"))))); process.exit(${status})`,
  ];
}

function ports(url: string): number[] {
  return [...url.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
}

describe("rollcall-servers", () => {
  beforeAll(() => assertBuilt());

  it("--help documents the commands and the variables", async () => {
    const result = await cli(["--help"]);
    expect(result.status).toBe(0);
    for (const text of [
      "rollcall-servers run",
      "rollcall-servers install",
      "ROLLCALL_MARIADB_URL",
      "--nodes",
    ]) {
      expect(result.stdout).toContain(text);
    }
  });

  it("rejects bad usage with status 2", async () => {
    expect((await cli(["run", "nosuchserver", "--", "true"])).status).toBe(2);
    expect((await cli(["run", "redis", "--nodes", "2", "--", "true"])).status).toBe(2);
    expect((await cli(["frobnicate"])).status).toBe(2);
  });

  it("install --print reports installed packages", async () => {
    const result = await cli(["install", "--print", "redis", "postgres"]);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain("already installed: redis, postgres");
  });

  it("run exports the URLs, runs the command, exits with its status and tears down", async () => {
    const result = await cli(["run", "redis", "postgres", "--", ...printEnv(7)]);
    expect(result.status).toBe(7);
    const env = JSON.parse(result.stdout) as Record<string, string>;
    expect(env.ROLLCALL_REDIS_URL).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(env.ROLLCALL_REDIS_CONNECTION).toBe(env.ROLLCALL_REDIS_URL);
    expect(env.ROLLCALL_POSTGRES_URL).toMatch(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    // Only what `run` exported: variables the test runner itself was given (e.g. by CI) are not its doing.
    expect(
      Object.keys(env)
        .filter((key) => !(key in process.env))
        .sort(),
    ).toEqual([
      "ROLLCALL_POSTGRES_CONNECTION",
      "ROLLCALL_POSTGRES_URL",
      "ROLLCALL_REDIS_CONNECTION",
      "ROLLCALL_REDIS_URL",
    ]);
    for (const port of [...ports(env.ROLLCALL_REDIS_URL ?? ""), ...ports(env.ROLLCALL_POSTGRES_URL ?? "")]) {
      expect(await refused(port)).toBe(true);
    }
  });

  it("run --nodes 3 starts clusters", async () => {
    const result = await cli(["run", "etcd", "zk", "--nodes", "3", "--quiet", "--", ...printEnv(0)]);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe("");
    const env = JSON.parse(result.stdout) as Record<string, string>;
    expect(env.ROLLCALL_ZOOKEEPER_URL).toMatch(
      /^zookeeper:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/,
    );
    expect(env.ROLLCALL_ZOOKEEPER_CONNECTION).toBe(env.ROLLCALL_ZOOKEEPER_URL?.slice("zookeeper://".length));
    expect(env.ROLLCALL_ETCD_URL).toMatch(/^etcd:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
    expect(env.ROLLCALL_ETCD_CONNECTION?.split(",")).toHaveLength(3);
  });

  it("forwards SIGTERM to the command and still tears down", async () => {
    let signalled = false;
    const command = [
      process.execPath,
      "-e",
      "console.log(process.env.ROLLCALL_REDIS_URL); setInterval(() => {}, 1000)",
    ];
    const result = await cli(["run", "redis", "--", ...command], (stdout, pid) => {
      if (!signalled && stdout.includes("\n")) {
        signalled = true;
        process.kill(pid, "SIGTERM");
      }
    });
    expect(result.status).toBe(128 + 15);
    expect(await refused(ports(result.stdout)[0] ?? 0)).toBe(true);
  });
});
