import { RollcallError } from "@rollcall/core";
import type { Registry } from "prom-client";

/** The registry of an options object, checked: `INVALID_ARGUMENT` when there is none or it is not a `prom-client` one. */
export function registryOption(options: unknown, what: string): Registry {
  if (typeof options !== "object" || options === null) {
    throw new RollcallError("INVALID_ARGUMENT", `${what} needs options with a registry`);
  }
  const registry = (options as { registry?: unknown }).registry as Registry | undefined;
  if (
    typeof registry !== "object" ||
    registry === null ||
    typeof registry.metrics !== "function" ||
    typeof registry.registerMetric !== "function"
  ) {
    throw new RollcallError("INVALID_ARGUMENT", "registry must be a prom-client Registry");
  }
  return registry;
}

/** A metric-name prefix, checked against the Prometheus name rule. */
export function prefixOption(prefix: unknown): string {
  if (typeof prefix !== "string" || !/^[a-zA-Z_:][a-zA-Z0-9_:]{0,99}$/.test(prefix)) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      "prefix must match [a-zA-Z_:][a-zA-Z0-9_:]* (at most 100 characters), e.g. rollcall_",
    );
  }
  return prefix;
}

/** Histogram buckets: 1–100 positive, increasing numbers of seconds. */
export function bucketsOption(what: string, values: readonly number[]): number[] {
  if (
    !Array.isArray(values) ||
    values.length === 0 ||
    values.length > 100 ||
    !values.every((v, i) => Number.isFinite(v) && v > 0 && (i === 0 || v > (values[i - 1] as number)))
  ) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `${what} must be 1–100 positive, increasing numbers of seconds`,
    );
  }
  return [...values];
}

/** A duration in ms within `[min, max]`, or the fallback when not given. */
export function msOption(
  what: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RollcallError("INVALID_ARGUMENT", `${what} must be an integer number of ms in ${min}–${max}`);
  }
  return value;
}

/** `INVALID_ARGUMENT` when the registry already holds one of `names`; `hint` says what to do instead. */
export function checkNamesFree(registry: Registry, names: readonly string[], hint: string): void {
  for (const name of names) {
    if (registry.getSingleMetric(name) !== undefined) {
      throw new RollcallError("INVALID_ARGUMENT", `the registry already has a metric named ${name}: ${hint}`);
    }
  }
}
