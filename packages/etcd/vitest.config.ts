import { defineConfig } from "vitest/config";

// One file at a time: the suites measure timing with real etcd servers and member processes on a
// 2-core machine.
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 60_000, fileParallelism: false },
});
