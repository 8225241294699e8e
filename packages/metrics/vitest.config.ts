import { defineConfig } from "vitest/config";

// Real servers and child processes on a loaded 2-core machine: one file at a time.
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 60_000, fileParallelism: false },
});
