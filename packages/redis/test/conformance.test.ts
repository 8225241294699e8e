import { randomBytes } from "node:crypto";
import { credentialRefusals, runConformance } from "@rollcall/conformance";
import { startRedis } from "@rollcall/servers";
import "@rollcall/redis";

/**
 * `setup({ secure: true })`: a Redis that serves only TLS (verified with the test CA, `tlsCaFile=`), whose
 * `default` user has a password, and an ACL user "app".
 */
async function secureSetup() {
  const password = `redis/${randomBytes(8).toString("hex")}@%:`;
  const defaultPassword = `default-${randomBytes(8).toString("hex")}`;
  const server = await startRedis({
    extraArgs: ["--appendonly", "no"],
    password: defaultPassword,
    aclUsers: [{ name: "app", password, rules: "~* &* +@all" }],
    tls: true,
  });
  const files = server.certificates;
  if (!files) throw new Error("startRedis({ tls: true }) returned no certificates");
  const host = `127.0.0.1:${server.nodes[0]?.port}`;
  const ca = `tlsCaFile=${encodeURIComponent(files.caFile)}`;
  const url = `rediss://app:${encodeURIComponent(password)}@${host}?${ca}`;
  return {
    url,
    close: () => server.close(),
    security: {
      url,
      secrets: [password, defaultPassword],
      refused: [
        ...credentialRefusals(
          (userinfo) => `rediss://${userinfo}${userinfo ? "@" : ""}${host}?${ca}`,
          "app",
          password,
        ),
        {
          why: "an unverified server (no tlsCaFile)",
          url: `rediss://app:${encodeURIComponent(password)}@${host}`,
        },
      ],
    },
  };
}

runConformance({
  name: "redis",
  setup: async (options) => {
    if (options?.secure) return secureSetup();
    // No persistence: a restart loses every key, so members must come back by re-joining.
    const server = await startRedis({
      extraArgs: ["--appendonly", "no"],
      ...(options?.lab ? { host: options.lab.gateway } : {}),
    });
    return {
      url: server.url,
      close: () => server.close(),
      faults: {
        restartServer: {
          run: () => server.nodes[0]?.restart() ?? Promise.resolve(),
          preservesSessions: false,
        },
      },
    };
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
  faults: ["restartServer"],
  security: true,
  partition: true,
});
