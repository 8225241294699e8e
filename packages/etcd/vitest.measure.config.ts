import { defineConfig } from "vitest/config";

// `pnpm --filter @rollcall/etcd measure`: the numbers in the README. Not part of `test`.
export default defineConfig({
  test: {
    include: ["measure/**/*.measure.ts"],
    testTimeout: 900_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
