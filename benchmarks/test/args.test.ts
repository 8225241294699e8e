import { describe, expect, it } from "vitest";
import { BACKENDS, PEERS, parseArgs, SCENARIOS, UsageError } from "../src/args.js";

describe("parseArgs()", () => {
  it("runs everything and regenerates the docs by default", () => {
    const args = parseArgs([]);
    expect(args.backends).toEqual([...BACKENDS]);
    expect(args.scenarios).toEqual([...SCENARIOS]);
    expect(args.peers).toEqual([...PEERS]);
    expect(args).toMatchObject({
      quick: false,
      docs: true,
      help: false,
      render: undefined,
      toozInterval: 1000,
    });
  });

  it("--quick does not touch the docs unless told", () => {
    expect(parseArgs(["--quick"])).toMatchObject({ quick: true, docs: false });
    expect(parseArgs(["--quick", "--docs"])).toMatchObject({ quick: true, docs: true });
  });

  it("selects backends and scenarios, with aliases, in canonical order, adding up repeated options", () => {
    const args = parseArgs([
      "--backend",
      "redis,zk",
      "--backend=pg",
      "--scenario=detect",
      "--scenario",
      "notify",
    ]);
    expect(args.backends).toEqual(["zookeeper", "redis", "postgresql"]);
    expect(args.scenarios).toEqual(["notify", "detect"]);
    expect(args.docs).toBe(false);
  });

  it("accepts mariadb, postgres and steady-cost as aliases and all as everything", () => {
    expect(parseArgs(["--backend", "mariadb,postgres"]).backends).toEqual(["postgresql", "mysql"]);
    expect(parseArgs(["--scenario", "steady-cost"]).scenarios).toEqual(["steady"]);
    expect(parseArgs(["--scenario", "partition,netsplit"]).scenarios).toEqual(["partition"]);
    expect(parseArgs(["--backend", "all"]).backends).toEqual([...BACKENDS]);
  });

  it("selects peers, or none", () => {
    expect(parseArgs(["--peers", "nova"]).peers).toEqual(["nova"]);
    expect(parseArgs(["--peers", "none"]).peers).toEqual([]);
    expect(parseArgs(["--no-peers"]).peers).toEqual([]);
  });

  it("reads --render, --tooz-interval, --no-docs and --help", () => {
    expect(parseArgs(["--render", "r.json", "--no-docs"])).toMatchObject({ render: "r.json", docs: false });
    // Rendering a results file writes beside it unless --docs asks for docs/benchmarks.md.
    expect(parseArgs(["--render", "r.json"])).toMatchObject({ render: "r.json", docs: false });
    expect(parseArgs(["--render", "r.json", "--docs"])).toMatchObject({ docs: true });
    expect(parseArgs(["--tooz-interval=250"]).toozInterval).toBe(250);
    expect(parseArgs(["-h"]).help).toBe(true);
    expect(parseArgs(["--", "--quick"]).quick).toBe(true);
  });

  it("rejects unknown names, unknown flags and missing or bad values with a UsageError", () => {
    expect(() => parseArgs(["--backend", "consul"])).toThrow(
      /unknown backend "consul": expected memory, zookeeper/,
    );
    expect(() => parseArgs(["--scenario", "nope"])).toThrow(UsageError);
    expect(() => parseArgs(["--backend"])).toThrow(/--backend needs a value/);
    expect(() => parseArgs(["--backend", "--quick"])).toThrow(/needs a value/);
    expect(() => parseArgs(["--backend", ","])).toThrow(/at least one/);
    expect(() => parseArgs(["--fast"])).toThrow(/unknown argument "--fast"/);
    expect(() => parseArgs(["--tooz-interval", "5"])).toThrow(/10 to 60000/);
  });
});
