import { defineConfig } from "vitest/config";

// Real servers on a 2-core machine: one test file at a time keeps readiness timings honest.
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 60_000, fileParallelism: false },
});
