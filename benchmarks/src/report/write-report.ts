import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { REPO_DIR } from "../paths.js";
import type { BenchResults } from "../results.js";
import { renderPage } from "./page.js";

/**
 * Writes the page and its charts: to docs/benchmarks.md and docs/benchmarks/*.svg (`docs`), or next
 * to the results file as <base>.md and <base>/*.svg (`beside`). Returns the page's path.
 */
export function writeReport(results: BenchResults, where: "docs" | "beside", base: string): string {
  const pagePath = where === "docs" ? join(REPO_DIR, "docs", "benchmarks.md") : `${base}.md`;
  const chartDir = where === "docs" ? join(REPO_DIR, "docs", "benchmarks") : base;
  const chartHref = where === "docs" ? "benchmarks" : basename(base);
  const resultsHref =
    where === "docs" ? relative(join(REPO_DIR, "docs"), `${base}.json`) : `${basename(base)}.json`;
  const { markdown, charts } = renderPage(results, { chartHref, resultsHref });
  mkdirSync(chartDir, { recursive: true });
  for (const [name, svg] of Object.entries(charts)) writeFileSync(join(chartDir, name), svg);
  writeFileSync(pagePath, markdown);
  return pagePath;
}
