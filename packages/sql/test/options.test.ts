import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, RollcallError } from "@rollcall/core";
import { afterAll, describe, expect, it } from "vitest";
import "@rollcall/sql";
import { novaDownTime, readSqlOptions } from "../src/options.js";
import { driverConfig } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "rollcall-sql-options-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function options(query: string, sessionTimeout = 10_000) {
  return readSqlOptions(
    "postgresql",
    driverConfig(`postgresql://db.example/rollcall${query}`, "m", "ns", sessionTimeout),
  );
}

describe("Nova's report_interval and service_down_time", () => {
  it("default to Nova's 10 s / 60 s and map onto heartbeat interval and session timeout", () => {
    expect(options("?service_down_time=60")).toMatchObject({
      heartbeatInterval: 10_000,
      sessionTimeout: 60_000,
      novaCompatible: true,
    });
    expect(options("?report_interval=10")).toMatchObject({
      heartbeatInterval: 10_000,
      sessionTimeout: 60_000,
    });
    expect(options("?report_interval=5&service_down_time=30")).toMatchObject({
      heartbeatInterval: 5000,
      sessionTimeout: 30_000,
    });
  });

  it("apply Nova's rule: a down time not above the report interval is raised to 2.5× it", () => {
    expect(novaDownTime(10, 10)).toBe(25);
    expect(novaDownTime(10, 5)).toBe(25);
    expect(novaDownTime(10, 11)).toBe(11);
    // 25 s down time: the heartbeat runs every third of it (8.3 s), a little more often than Nova's 10 s.
    expect(options("?report_interval=10&service_down_time=10")).toMatchObject({
      heartbeatInterval: 8333,
      sessionTimeout: 25_000,
    });
  });

  it("keep the heartbeat at least every third of the down time (the driver contract)", () => {
    expect(options("?report_interval=30&service_down_time=60")).toMatchObject({
      heartbeatInterval: 20_000,
      sessionTimeout: 60_000,
    });
  });

  it("without them: sessionTimeout from the URL, heartbeat every third of it", () => {
    expect(options("", 10_000)).toMatchObject({
      heartbeatInterval: 3333,
      sessionTimeout: 10_000,
      novaCompatible: false,
    });
    expect(options("?heartbeatInterval=1000", 9000)).toMatchObject({
      heartbeatInterval: 1000,
      sessionTimeout: 9000,
    });
    expect(options("?heartbeatInterval=5000", 9000)).toMatchObject({ heartbeatInterval: 3000 });
  });

  it("refuse contradictions and bad values with INVALID_ARGUMENT", () => {
    for (const query of [
      "?sessionTimeout=5000&service_down_time=60",
      "?heartbeatInterval=1000&report_interval=10",
      "?report_interval=abc",
      "?service_down_time=-1",
      "?changeRetention=5",
      "?poolSize=0",
      "?ssl=maybe",
    ]) {
      expect(() => options(query), query).toThrow(RollcallError);
    }
  });

  it("ca= names the PEM file that verifies the server and implies ssl=true", async () => {
    expect(options("?ca=%2Fetc%2Fca.pem")).toMatchObject({ ssl: "verify", caFile: "/etc/ca.pem" });
    expect(options("?ssl=true&ca=%2Fetc%2Fca.pem")).toMatchObject({ ssl: "verify", caFile: "/etc/ca.pem" });
    expect(options("?ssl=true")).toMatchObject({ ssl: "verify", caFile: undefined });
    for (const query of ["?ssl=insecure&ca=%2Fca.pem", "?ssl=false&ca=%2Fca.pem", "?ca="]) {
      expect(() => options(query), query).toThrow(RollcallError);
    }
    expect(() =>
      readSqlOptions("sqlite", driverConfig(`sqlite://${join(dir, "x.db")}?ca=%2Fca.pem`, "m", "ns", 10_000)),
    ).toThrow(/ca does not apply to sqlite/);
    const missing = await connect(
      `postgresql://u:s3cret-pw@127.0.0.1:1/db?ca=${encodeURIComponent(join(dir, "missing.pem"))}&connectTimeout=2000`,
      { memberId: "m" },
    ).catch((e: unknown) => e);
    expect(RollcallError.hasCode(missing, "INVALID_ARGUMENT")).toBe(true);
    expect(String(missing)).toContain("missing.pem");
    expect(String(missing)).not.toContain("s3cret-pw");
  });

  it("reach the coordinator: sessionTimeout is the Nova down time", async () => {
    const coord = await connect(`sqlite://${join(dir, "nova.db")}?report_interval=10&service_down_time=60`, {
      memberId: "compute-1",
    });
    expect(coord.backend).toBe("sqlite");
    expect(coord.sessionTimeout).toBe(60_000);
    await coord.close();
    const bad = await connect(`sqlite://${join(dir, "nova.db")}?sessionTimeout=3000&service_down_time=60`, {
      memberId: "x",
    }).catch((e: unknown) => e);
    expect(RollcallError.hasCode(bad, "INVALID_ARGUMENT")).toBe(true);
  });
});

describe("URLs", () => {
  it("sqlite://./relative.db is a file relative to the working directory, not a namespace", async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const coord = await connect("sqlite://./relative.db?namespace=a/b", { memberId: "m" });
      await coord.join("g", { createGroup: true });
      expect(await coord.groups()).toEqual(["g"]);
      await coord.close();
      const other = await connect("sqlite://./relative.db?namespace=c", { memberId: "m" });
      expect(await other.groups()).toEqual([]);
      await other.close();
    } finally {
      process.chdir(cwd);
    }
  });

  it("errors name the host, never the password", async () => {
    const error = await connect("postgresql://app:s3cret-pw@127.0.0.1:1/db?connectTimeout=500", {
      memberId: "m",
    }).catch((e: unknown) => e);
    expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
    expect(String((error as Error).message)).toContain("127.0.0.1:1");
    expect(JSON.stringify(error) + String(error) + String((error as Error).stack)).not.toContain("s3cret-pw");
  });
});
