/**
 * The rollcall conformance kit: `runConformance()` registers the vitest suites every backend passes.
 * @packageDocumentation
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from "vitest";
import { Harness } from "./harness.js";
import type { ConformanceOptions } from "./options.js";
import { resolveOptions } from "./server-target.js";
import { configSuite } from "./suites/config.js";
import { driverContractSuite } from "./suites/driver-contract.js";
import { electionLivenessSuite } from "./suites/election-liveness.js";
import { electionsSuite } from "./suites/elections.js";
import { faultsSuite } from "./suites/faults.js";
import { fuzzSuite } from "./suites/fuzz.js";
import { groupsSuite } from "./suites/groups.js";
import { handoverSuite } from "./suites/handover.js";
import { inputSuite } from "./suites/input.js";
import { livenessSuite } from "./suites/liveness.js";
import { membershipSuite } from "./suites/membership.js";
import { partitionSuite } from "./suites/partition.js";
import { prefixNamesSuite } from "./suites/prefix-groups.js";
import { reactorSuite } from "./suites/reactor.js";
import { securitySuite } from "./suites/security.js";
import { sessionsSuite } from "./suites/sessions.js";
import { stallSuite } from "./suites/stall.js";
import { watchSuite } from "./suites/watch.js";
import { watchGapSuite } from "./suites/watch-gap.js";

export { ChildMember, type ChildMemberConfig } from "./child-member.js";
export { ConfigRecorder, configSummary, entryLines } from "./config-recorder.js";
export { credentialRefusals } from "./credential-refusals.js";
export {
  type EnduranceOptions,
  type EnduranceProfile,
  type EnduranceServer,
  type EnduranceStats,
  type EnduranceTarget,
  MAX_FD_SLOPE,
  resolveProfile,
  runEndurance,
  type SoakReport,
  type SoakSample,
  type Storm,
  type StormNode,
  type StormReport,
  type StormServer,
  serverStorms,
  serverTarget,
  soak,
  soakViolations,
  type WatchTallyReport,
} from "./endurance/index.js";
export { EventRecorder, eventually, Harness, randomId, summary, withParams } from "./harness.js";
export { killLeaderFault, labIfAvailable, partitionLeaderFault, restartFault } from "./lab-faults.js";
export type { MemberScript, WatchedEvent } from "./member-script.js";
export type { ChildMessage, Participant } from "./message-log.js";
export type {
  ConformanceOptions,
  ConformanceTarget,
  ConformanceTiming,
  Fault,
  SecurityTarget,
  SessionControl,
  SetupOptions,
} from "./options.js";
export type {
  ClusterSpec,
  KitCluster,
  KitSecureServer,
  KitServer,
  SecureSetup,
  ServerSpec,
} from "./server-target.js";
export { ESCAPING_NAMES, TRICKY_VALID_NAMES } from "./suites/escape.js";
export { BAD_NAMES } from "./suites/input.js";
export { REQUIRE_PARTITION_ENV } from "./suites/partition.js";
export { REACTOR_TRIALS_ENV, type ReactorSuiteOptions } from "./suites/reactor.js";
export { Exposure, MIN_SECRET_LENGTH, secretForms, securitySuite } from "./suites/security.js";
export { temporaryFile } from "./temporary-file.js";
export { waitForMatch } from "./wait-for-match.js";

/**
 * Registers the conformance suites for one backend: groups, membership, watch and view, sessions,
 * elections and locks, bad input, ephemeral liveness with real processes (crash, close, freeze),
 * election liveness with the no-overlap check, the configuration store (compare-and-set races between
 * processes, watch order and convergence, persistence, bad input), and the server faults the backend declares.
 * Every test uses a fresh namespace, so suites can share one server.
 *
 * @example
 * ```ts
 * // packages/redis/test/conformance.test.ts
 * import { runConformance } from "@rollcall/conformance";
 * import { secureRedis, startRedis } from "@rollcall/servers";
 * import "@rollcall/redis";
 *
 * runConformance({
 *   name: "redis",
 *   server: {
 *     start: (at) => startRedis({ ...at }),
 *     secure: () => secureRedis(),
 *     restart: { preservesSessions: false },
 *   },
 *   timing: { sessionTimeout: 2000, detectionSlack: 1500 },
 * });
 * ```
 */
export function runConformance(given: ConformanceOptions): void {
  const options = resolveOptions(given);
  const h = new Harness(options);
  describe(`${options.name} conformance`, () => {
    beforeAll(async () => {
      h.target = await options.setup();
      await h.probeCharacteristics();
    }, 180_000);
    afterAll(async () => {
      await h.target?.close?.();
    }, 120_000);
    beforeEach(() => h.freshNamespace());
    afterEach(async () => {
      await h.cleanup();
    }, 60_000);

    it("declares honest characteristics", () => {
      const c = h.characteristics;
      if (c.scope === "process" && !options.sessionControl) {
        throw new Error(
          `${options.name} declares scope "process": pass sessionControl so the liveness suites can run in-process`,
        );
      }
    });

    groupsSuite(h);
    prefixNamesSuite(h);
    membershipSuite(h);
    watchSuite(h);
    watchGapSuite(h);
    driverContractSuite(h);
    sessionsSuite(h);
    electionsSuite(h);
    handoverSuite(h);
    inputSuite(h);
    fuzzSuite(h, options.fuzzRuns ?? 200);
    livenessSuite(h);
    electionLivenessSuite(h);
    stallSuite(h);
    configSuite(h);
    reactorSuite(h);
    if (options.faults?.includes("restartServer")) faultsSuite(h, "restartServer", "server restart");
    if (options.faults?.includes("killNode")) faultsSuite(h, "killNode", "cluster node loss");
    if (options.faults?.includes("partitionNode"))
      faultsSuite(h, "partitionNode", "a cluster node partitioned from the others");
  });
  if (options.partition) partitionSuite(options);
  if (options.security) securitySuite(options);
}
