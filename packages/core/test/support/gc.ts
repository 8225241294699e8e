/** Forces full collections for `ms` (the core tests run with --expose-gc: see vitest.config.ts). */
export async function collectGarbage(ms: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with node --expose-gc (packages/core/vitest.config.ts sets it)");
  const until = performance.now() + ms;
  while (performance.now() < until) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
}
