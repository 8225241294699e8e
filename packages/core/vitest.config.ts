import { defineConfig } from "vitest/config";

// --expose-gc: the abort and candidacy tests force collections (Node 20 loses AbortSignal.timeout
// signals held only by AbortSignal.any).
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], testTimeout: 30_000, execArgv: ["--expose-gc"] },
});
