import { BACKENDS, type ScenarioName } from "../args.js";
import type { BenchResults, ScenarioResult } from "../results.js";
import { type Summary, summarize } from "./stats.js";

const KIND_ORDER = { rollcall: 0, tooz: 1, etcd3: 2, nova: 3 } as const;

/** The results of one scenario in page order: backend by backend, rollcall then tooz, etcd3, Nova. */
export function resultsOf(results: BenchResults, scenario: ScenarioName, variant?: string): ScenarioResult[] {
  return results.results
    .filter((r) => r.scenario === scenario && (variant === undefined || r.variant === variant))
    .sort(
      (a, b) =>
        BACKENDS.indexOf(a.backend) - BACKENDS.indexOf(b.backend) ||
        KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
        (a.variant ?? "").localeCompare(b.variant ?? ""),
    );
}

/** The summary of a metric of a result (only for results that ran). */
export function stat(result: ScenarioResult | undefined, metric: string): Summary | undefined {
  if (result?.status !== "ok") return undefined;
  return summarize(result.samples[metric] ?? []);
}

/**
 * A result's name on the page: `rollcall · zookeeper`, `tooz · redis`, `Nova DB · postgresql (tuned to 4 s)`,
 * `etcd3 client · etcd`.
 */
export function label(result: ScenarioResult, withVariant = true): string {
  const who = result.kind === "nova" ? "Nova DB" : result.kind === "etcd3" ? "etcd3 client" : result.kind;
  const variant = withVariant && result.variant ? ` (${result.variant})` : "";
  return `${who} · ${result.backend}${variant}`;
}

/** Why a result has no numbers, in a few words for a table cell. */
export function statusText(result: ScenarioResult): string | undefined {
  if (result.status === "ok") return undefined;
  const reason = (result.error ?? "").split("\n")[0] ?? "";
  const short = reason.length > 90 ? `${reason.slice(0, 87)}…` : reason;
  if (result.status === "unsupported") return `not supported: ${short}`;
  return result.status === "skipped" ? `skipped: ${short}` : `**failed**: ${short}`;
}

/** Finds the result of a subject in a scenario (and variant). */
export function findResult(
  results: BenchResults,
  subject: string,
  scenario: ScenarioName,
  variant?: string,
): ScenarioResult | undefined {
  return results.results.find(
    (r) =>
      r.subject === subject && r.scenario === scenario && (variant === undefined || r.variant === variant),
  );
}
