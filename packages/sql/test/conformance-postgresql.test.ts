import { randomBytes } from "node:crypto";
import { credentialRefusals, runConformance } from "@rollcall/conformance";
import { startPostgres } from "@rollcall/servers";
import "@rollcall/sql";

/**
 * `setup({ secure: true })`: PostgreSQL that only accepts TLS (`hostssl`) with scram-sha-256 password
 * authentication; the client verifies the server with the test CA (`ca=`).
 */
async function secureSetup() {
  const password = `sql/${randomBytes(8).toString("hex")}@%:`;
  const server = await startPostgres({ password, tls: true });
  const files = server.certificates;
  if (!files) throw new Error("startPostgres({ tls: true }) returned no certificates");
  const host = `127.0.0.1:${server.nodes[0]?.port}`;
  const ca = `ca=${encodeURIComponent(files.caFile)}`;
  const url = `postgresql://postgres:${encodeURIComponent(password)}@${host}/postgres?${ca}`;
  return {
    url,
    close: () => server.close(),
    security: {
      url,
      secrets: [password],
      refused: [
        ...credentialRefusals(
          (userinfo) => `postgresql://${userinfo || "postgres"}@${host}/postgres?${ca}`,
          "postgres",
          password,
        ),
        {
          why: "no TLS (the server only accepts TLS sessions)",
          url: `postgresql://postgres:${encodeURIComponent(password)}@${host}/postgres`,
        },
      ],
    },
  };
}

runConformance({
  name: "postgresql",
  setup: async (options) => {
    if (options?.secure) return secureSetup();
    const server = await startPostgres(options?.lab ? { host: options.lab.gateway } : {});
    return {
      url: server.url,
      close: () => server.close(),
      // A restart may outlast the session timeout: members then come back by re-joining.
      faults: { restartServer: { run: () => server.nodes[0]!.restart(), preservesSessions: false } },
    };
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
  faults: ["restartServer"],
  security: true,
  partition: true,
});
