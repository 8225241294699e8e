import type { DriverConfig } from "../../src/driver/driver.js";
import { registerBackend } from "../../src/registry.js";
import { DeafGoneDriver, EagerGoneDriver, TestDriver, TestServer } from "./test-driver.js";

export const server = new TestServer();
export const drivers = new Map<string, TestDriver>();

registerBackend({
  name: "test",
  schemes: ["test", "testmanual", "testeager", "testdeaf"],
  defaultSessionTimeout: 1000,
  defaultRetryInterval: 50,
  params: ["flag"],
  create: (config: DriverConfig) => {
    const scheme = config.url.scheme;
    const driver =
      scheme === "testeager"
        ? new EagerGoneDriver(server, config)
        : scheme === "testdeaf"
          ? new DeafGoneDriver(server, config)
          : new TestDriver(server, config, scheme === "test");
    drivers.set(config.memberId, driver);
    return driver;
  },
});
