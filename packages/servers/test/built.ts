import { readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Absolute path of a file in the package. */
export function packagePath(relative: string): string {
  return fileURLToPath(new URL(`../${relative}`, import.meta.url));
}

/**
 * Tests that run the package in child processes use the build in dist/: fail clearly when it is missing or
 * older than the sources.
 */
export function assertBuilt(): void {
  const newestSource = Math.max(
    ...readdirSync(packagePath("src")).map((file) => statSync(packagePath(`src/${file}`)).mtimeMs),
  );
  let built: number;
  try {
    built = statSync(packagePath("dist/index.js")).mtimeMs;
  } catch {
    throw new Error("dist/ is missing: run `pnpm --filter @rollcall/servers build` first");
  }
  const newestBuilt = Math.max(
    built,
    ...readdirSync(packagePath("dist")).map((file) => statSync(packagePath(`dist/${file}`)).mtimeMs),
  );
  if (newestBuilt < newestSource) {
    throw new Error("dist/ is older than src/: run `pnpm --filter @rollcall/servers build` first");
  }
}
