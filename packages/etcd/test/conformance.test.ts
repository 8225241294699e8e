import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { credentialRefusals, runConformance } from "@rollcall/conformance";
import { type EtcdServer, startEtcd } from "@rollcall/servers";
import { Etcd3, Range } from "etcd3";
import "@rollcall/etcd";

/**
 * `setup({ secure: true })`: etcd over TLS with client certificates (`--client-cert-auth`) and with
 * authentication on. The user "app" may only touch keys under `ns-` (the kit's namespaces); "root" exists
 * because etcd needs it to enable auth. The client key's contents are a secret too.
 */
async function secureSetup() {
  const server: EtcdServer = await startEtcd({ nodes: 1, tls: true });
  const files = server.certificates;
  if (!files) throw new Error("startEtcd({ tls: true }) returned no certificates");
  const password = `etcd/${randomBytes(8).toString("hex")}@%:`;
  const rootPassword = `root-${randomBytes(8).toString("hex")}`;
  const admin = new Etcd3({
    hosts: [...server.hosts],
    credentials: {
      rootCertificate: readFileSync(files.caFile),
      certChain: readFileSync(files.clientCertFile),
      privateKey: readFileSync(files.clientKeyFile),
    },
  });
  try {
    await admin.role("root").create();
    await admin.user("root").create(rootPassword);
    await admin.user("root").addRole("root");
    await admin.role("app").create();
    await admin.role("app").grant({ permission: "Readwrite", range: Range.prefix("ns-") });
    await admin.user("app").create(password);
    await admin.user("app").addRole("app");
    await admin.auth.authEnable();
  } finally {
    admin.close();
  }
  const host = server.url.replace(/^etcds?:\/\//, "").replace(/[/?].*$/, "");
  const ca = `ca=${encodeURIComponent(files.caFile)}`;
  const clientCert = `${ca}&cert=${encodeURIComponent(files.clientCertFile)}&key=${encodeURIComponent(files.clientKeyFile)}`;
  const url = `etcds://app:${encodeURIComponent(password)}@${host}?${clientCert}`;
  return {
    url,
    close: () => server.close(),
    security: {
      url,
      secrets: [password, rootPassword, readFileSync(files.clientKeyFile, "utf8")],
      refused: [
        // Without user info etcd authenticates the client certificate's common name instead, so "no
        // credentials" is not refused here: only the first two.
        ...credentialRefusals(
          (userinfo) => `etcds://${userinfo}@${host}?${clientCert}`,
          "app",
          password,
        ).slice(0, 2),
        { why: "no client certificate", url: `etcds://app:${encodeURIComponent(password)}@${host}?${ca}` },
      ],
    },
  };
}

// A single member keeps its leases across a restart (they are persisted, and refreshed when the
// member comes back), so sessions survive it.
runConformance({
  name: "etcd (single node)",
  setup: async (options) => {
    if (options?.secure) return secureSetup();
    const server = await startEtcd({ nodes: 1, ...(options?.lab ? { host: options.lab.gateway } : {}) });
    const node = server.nodes[0];
    if (!node) throw new Error("no etcd node");
    return {
      url: server.url,
      close: () => server.close(),
      faults: { restartServer: { run: () => node.restart(), preservesSessions: true } },
    };
  },
  timing: { sessionTimeout: 2000, detectionSlack: 1500 },
  faults: ["restartServer"],
  security: true,
  partition: true,
});
