import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  checkBinaries,
  MissingBinaryError,
  ServerStartError,
  startEtcd,
  startRedis,
  startZooKeeper,
} from "../src/index.js";

describe("a server that fails to start", () => {
  let parent: string;

  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), "rollcall-errors-test-"));
  });

  afterEach(() => {
    rmSync(parent, { recursive: true, force: true });
  });

  it("rejects with the tail of its log and leaves nothing behind", async () => {
    const error = await startRedis({ tmpDir: parent, extraArgs: ["--no-such-directive", "1"] }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ServerStartError);
    const startError = error as ServerStartError;
    expect(startError.node).toBe("redis-1");
    expect(startError.message).toMatch(/exited with code 1 before becoming ready/);
    expect(startError.message).toMatch(/Bad directive or wrong number of arguments/);
    expect(startError.logTail.split("\n").length).toBeLessThanOrEqual(20);
    expect(readdirSync(parent)).toEqual([]);
  });

  it("rejects when it is not ready before the deadline", async () => {
    const error = await startEtcd({ tmpDir: parent, startTimeoutMs: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerStartError);
    expect((error as Error).message).toMatch(
      /^etcd-1: not ready within 1 ms\n--- last lines of .*etcd\.log ---\n/,
    );
    expect(readdirSync(parent)).toEqual([]);
  });
});

describe("a missing binary", () => {
  const saved = { PATH: process.env.PATH, JAVA_HOME: process.env.JAVA_HOME };

  beforeEach(() => {
    process.env.PATH = "/nonexistent";
    delete process.env.JAVA_HOME;
  });

  afterEach(() => {
    process.env.PATH = saved.PATH;
    if (saved.JAVA_HOME !== undefined) process.env.JAVA_HOME = saved.JAVA_HOME;
  });

  it.each([
    ["redis", () => startRedis(), "redis-server", "redis-server"],
    ["etcd", () => startEtcd(), "etcd", "etcd-server etcd-client"],
    ["zookeeper", () => startZooKeeper(), "java", "zookeeper"],
  ] as const)("%s: a clear error naming the Debian package", async (kind, start, binary, packages) => {
    const error = await start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingBinaryError);
    const missing = error as MissingBinaryError;
    expect(missing.kind).toBe(kind);
    expect(missing.binary).toBe(binary);
    expect(missing.installCommand).toBe(`apt-get install -y --no-install-recommends ${packages}`);
    expect(missing.message).toContain(`apt-get install -y --no-install-recommends ${packages}`);
    expect(checkBinaries(kind)).toBeInstanceOf(MissingBinaryError);
  });
});
