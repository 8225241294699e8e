import type { Characteristics } from "@rollcall/core";
import { registerBackend } from "@rollcall/core";
import { MemoryDriver } from "@rollcall/memory";

/**
 * Registers `noconfig://`: the memory backend declaring `characteristics.config: "none"`, as a backend
 * without a configuration store does. Idempotent.
 */
export function registerNoConfigBackend(): void {
  registerBackend({
    name: "noconfig",
    schemes: ["noconfig"],
    defaultSessionTimeout: 2000,
    create: (config) => {
      const driver = new MemoryDriver(config);
      const characteristics: Characteristics = { ...driver.characteristics, config: "none" };
      Object.defineProperty(driver, "characteristics", { value: characteristics });
      return driver;
    },
  });
}
