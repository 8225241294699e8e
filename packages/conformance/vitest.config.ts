import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The kit's self-test runs its checks against memory:// and deliberately broken wrappers of it.
// @rollcall/memory cannot be a dependency of this package (memory's tests depend on the kit, and turbo
// refuses the cycle), so its built entry point is aliased here; turbo.json builds it first.
export default defineConfig({
  resolve: {
    alias: { "@rollcall/memory": fileURLToPath(new URL("../memory/dist/index.js", import.meta.url)) },
  },
  // One file at a time: the self-test checks timing bounds and must not compete with itself for the CPU.
  test: { include: ["test/**/*.test.ts"], testTimeout: 60_000, fileParallelism: false },
});
