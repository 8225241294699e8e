import { describe, expect, it } from "vitest";
import { parseArgs } from "../src/args.js";
import { planJobs, subjectId } from "../src/plan.js";
import { FULL, QUICK } from "../src/settings.js";

describe("planJobs()", () => {
  it("runs tooz beside the backends it has a driver for, on its four scenarios only", () => {
    const jobs = planJobs(parseArgs(["--backend", "zk,sqlite"]), FULL);
    const tooz = jobs.filter((j) => j.kind === "tooz");
    expect(tooz.map((j) => `${j.backend}/${j.scenario}`)).toEqual([
      "zookeeper/notify",
      "zookeeper/detect",
      "zookeeper/failover",
      "zookeeper/churn",
    ]);
    expect(jobs.filter((j) => j.backend === "sqlite").every((j) => j.kind === "rollcall")).toBe(true);
  });

  it("runs the Nova heartbeat on PostgreSQL and MySQL for detect and steady, at both settings", () => {
    const nova = planJobs(parseArgs(["--backend", "pg,mysql,sqlite"]), FULL).filter((j) => j.kind === "nova");
    const runs = [
      "detect/Nova defaults",
      "detect/tuned to 4 s",
      "steady/Nova defaults",
      "steady/tuned to 4 s",
    ];
    expect(nova.map((j) => `${subjectId(j)} ${j.scenario}/${j.variant}`)).toEqual([
      ...runs.map((run) => `nova-db/postgresql ${run}`),
      ...runs.map((run) => `nova-db/mysql ${run}`),
    ]);
  });

  it("keeps a quick run small: one steady shape, tooz only on ZooKeeper, no Nova steady at defaults", () => {
    const jobs = planJobs(parseArgs(["--quick"]), QUICK);
    expect(
      jobs
        .filter((j) => j.scenario === "steady" && j.kind === "rollcall")
        .every((j) => j.shape === "per-member"),
    ).toBe(true);
    expect(new Set(jobs.filter((j) => j.kind === "tooz").map((j) => j.backend))).toEqual(
      new Set(["zookeeper"]),
    );
    expect(
      jobs.some((j) => j.kind === "nova" && j.scenario === "steady" && j.variant === "Nova defaults"),
    ).toBe(false);
  });

  it("runs serve for rollcall only, on the backends a separate process can reach (not memory)", () => {
    const jobs = planJobs(parseArgs(["--scenario", "dashboard"]), FULL).filter((j) => j.scenario === "serve");
    expect(jobs.map((j) => `${j.kind}/${j.backend}`)).toEqual([
      "rollcall/zookeeper",
      "rollcall/etcd",
      "rollcall/redis",
      "rollcall/postgresql",
      "rollcall/mysql",
      "rollcall/sqlite",
    ]);
    expect(planJobs(parseArgs([]), FULL).some((j) => j.scenario === "serve")).toBe(true);
  });

  it("runs config for rollcall on every backend and the etcd3 client beside it on etcd only", () => {
    const jobs = planJobs(parseArgs(["--scenario", "config"]), FULL);
    expect(jobs.map((j) => `${j.kind}/${j.backend}`)).toEqual([
      "rollcall/memory",
      "rollcall/zookeeper",
      "rollcall/etcd",
      "etcd3/etcd",
      "rollcall/redis",
      "rollcall/postgresql",
      "rollcall/mysql",
      "rollcall/sqlite",
    ]);
    expect(subjectId(jobs[3] as (typeof jobs)[0])).toBe("etcd3/etcd");
    expect(
      planJobs(parseArgs(["--scenario", "config", "--peers", "tooz,nova"]), FULL).some(
        (j) => j.kind !== "rollcall",
      ),
    ).toBe(false);
  });

  it("runs the reactor for rollcall only, on every backend", () => {
    const jobs = planJobs(parseArgs(["--scenario", "react"]), FULL);
    expect(jobs.map((j) => `${j.kind}/${j.backend}/${j.scenario}`)).toEqual([
      "rollcall/memory/reactor",
      "rollcall/zookeeper/reactor",
      "rollcall/etcd/reactor",
      "rollcall/redis/reactor",
      "rollcall/postgresql/reactor",
      "rollcall/mysql/reactor",
      "rollcall/sqlite/reactor",
    ]);
  });

  it("leaves the peers out with --peers none", () => {
    expect(planJobs(parseArgs(["--peers", "none"]), FULL).every((j) => j.kind === "rollcall")).toBe(true);
  });
});
