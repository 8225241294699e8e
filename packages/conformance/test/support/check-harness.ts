/**
 * Running single conformance checks outside `runConformance()`: a {@link Harness} on a given base URL
 * (an honest or a broken `memory://`), and a way to override a few members of a driver.
 * @packageDocumentation
 */
import type { Driver } from "@rollcall/core/driver";
import { memorySessions } from "@rollcall/memory";
import { Harness } from "../../src/harness.js";
import type { ConformanceTiming } from "../../src/options.js";

/** The self-test's timing: memory's conformance timing, with a shorter wait for prompt events. */
export const SELF_TEST_TIMING: ConformanceTiming = {
  sessionTimeout: 1000,
  detectionSlack: 500,
  eventTimeout: 3000,
};

/**
 * A harness for `baseUrl` (a `memory://` or {@link brokenMemory} URL), set up as `runConformance()`
 * sets one up: target, probed characteristics, a fresh namespace, and memory's session controls for
 * the in-process liveness checks. Call `cleanup()` after each test.
 */
export async function harnessFor(
  baseUrl: string,
  timing: ConformanceTiming = SELF_TEST_TIMING,
): Promise<Harness> {
  const h = new Harness({
    name: `self-test ${baseUrl}`,
    setup: async () => ({ url: baseUrl }),
    timing,
    sessionControl: memorySessions,
  });
  h.target = { url: baseUrl };
  await h.probeCharacteristics();
  h.freshNamespace();
  return h;
}

/**
 * `driver` with some members replaced: every other property reads through to it, methods bound to it.
 * `patch` gets the honest driver, to delegate to; a getter in the patch (e.g. `sessionTimeout`) works.
 */
export function override(driver: Driver, patch: (inner: Driver) => Partial<Driver>): Driver {
  const replaced = patch(driver) as Record<string | symbol, unknown>;
  return new Proxy(driver, {
    get(target, property) {
      if (Object.hasOwn(replaced, property)) return replaced[property];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
