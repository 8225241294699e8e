import type { DriverConfig } from "../../src/driver/driver.js";
import { registerBackend } from "../../src/registry.js";
import { TestDriver, TestServer } from "./test-driver.js";

export const server = new TestServer();
export const drivers = new Map<string, TestDriver>();

registerBackend({
  name: "test",
  schemes: ["test", "testmanual"],
  defaultSessionTimeout: 1000,
  defaultRetryInterval: 50,
  params: ["flag"],
  create: (config: DriverConfig) => {
    const driver = new TestDriver(server, config, config.url.scheme === "test");
    drivers.set(config.memberId, driver);
    return driver;
  },
});
