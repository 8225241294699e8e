import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EnduranceOptions, EnduranceTarget } from "./options.js";
import { resolveProfile, type SoakReport, soak } from "./soak.js";
import { soakViolations } from "./verdict.js";

/** Where reports go when `ROLLCALL_SOAK_REPORT_DIR` names a directory (`pnpm soak` sets it). */
function saveReport(report: SoakReport): void {
  const dir = process.env.ROLLCALL_SOAK_REPORT_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${report.name.replace(/[^a-z0-9]+/gi, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

/**
 * Registers the endurance (soak-and-storm) suite for one backend: a short profile by default (a minute,
 * storms included), a long one with `ROLLCALL_SOAK_MINUTES` (what `pnpm soak --minutes` sets). See
 * {@link soak} for what runs and {@link soakViolations} for the pass criteria.
 *
 * @example
 * ```ts
 * // packages/redis/test/endurance.test.ts
 * import { runEndurance, serverTarget } from "@rollcall/conformance";
 * import { startRedis } from "@rollcall/servers";
 * import "@rollcall/redis";
 *
 * runEndurance({ name: "redis", setup: async () => serverTarget(await startRedis(), 2000) });
 * ```
 */
export function runEndurance(options: EnduranceOptions): void {
  const profile = resolveProfile(options.profile);
  describe(`${options.name} endurance`, () => {
    let target: EnduranceTarget | undefined;
    beforeAll(async () => {
      target = await options.setup();
    }, 180_000);
    afterAll(async () => {
      await target?.close?.();
    }, 120_000);
    it(
      `${profile.coordinators} coordinators for ${profile.duration / 1000} s through storms: nothing dies, leaks, stays blocked or goes out of order`,
      async () => {
        if (!target) throw new Error("the endurance target is not set up");
        const report = await soak(options, target);
        saveReport(report);
        const violations = soakViolations(report);
        if (violations.length > 0) {
          (options.log ?? ((line: string) => process.stderr.write(`${line}\n`)))(
            `[${options.name}] report: ${JSON.stringify({ ...report, samples: report.samples.length })}`,
          );
        }
        expect(violations).toEqual([]);
      },
      profile.duration + 240_000,
    );
  });
}
