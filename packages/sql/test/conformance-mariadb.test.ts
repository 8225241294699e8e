import { randomBytes } from "node:crypto";
import { credentialRefusals, runConformance } from "@rollcall/conformance";
import { startMariaDB } from "@rollcall/servers";
import "@rollcall/sql";

/**
 * `setup({ secure: true })`: MariaDB with password authentication for root.
 */
async function secureSetup() {
  const password = `sql/${randomBytes(8).toString("hex")}@%:`;
  const server = await startMariaDB({ password });
  const host = `127.0.0.1:${server.nodes[0]?.port}`;
  const url = `mysql://root:${encodeURIComponent(password)}@${host}/rollcall`;
  return {
    url,
    close: () => server.close(),
    security: {
      url,
      secrets: [password],
      refused: credentialRefusals(
        (userinfo) => `mysql://${userinfo || "root"}@${host}/rollcall`,
        "root",
        password,
      ),
    },
  };
}

runConformance({
  name: "mariadb",
  setup: async (options) => {
    if (options?.secure) return secureSetup();
    const server = await startMariaDB(options?.lab ? { host: options.lab.gateway } : {});
    return {
      url: server.url,
      close: () => server.close(),
      faults: { restartServer: { run: () => server.nodes[0]!.restart(), preservesSessions: false } },
    };
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
  faults: ["restartServer"],
  security: true,
  partition: true,
});
