import { randomBytes } from "node:crypto";
import { runConformance } from "@rollcall/conformance";
import { startZooKeeper } from "@rollcall/servers";
import { expect } from "vitest";
import "@rollcall/zookeeper";
import { rawClient } from "./helpers.js";

/**
 * `setup({ secure: true })`: digest auth (`zookeeper://user:password@…`). ZooKeeper's digest scheme
 * cannot refuse a wrong password when the session opens — any `user:password` is accepted as an
 * identity of its own — so no URL is refused at `connect()` for its password alone. What is refused is
 * writing into a tree another identity owns: a namespace below a znode only alice may write, opened with
 * a wrong password, another user's or none, cannot be created, and `connect()` reports that as a
 * `CONNECTION` error (NOAUTH). test/acl.test.ts checks the per-znode ACLs.
 */
async function secureSetup() {
  const server = await startZooKeeper({ nodes: 1 });
  const password = `zk/${randomBytes(8).toString("hex")}@%:`;
  const host = server.url.slice("zookeeper://".length).replace(/\/.*$/, "");
  const url = `zookeeper://alice:${encodeURIComponent(password)}@${host}`;
  // A znode only alice may write (everybody may read), not itself a rollcall namespace.
  const owned = `/secure-${randomBytes(4).toString("hex")}`;
  const alice = await rawClient(server.connectionString, `alice:${password}`);
  try {
    expect((await alice.call("a_create", owned, "", 0)).rc).toBe(0);
    const acl = [
      { perms: 31, scheme: "auth", auth: "" },
      { perms: 1, scheme: "world", auth: "anyone" },
    ];
    expect((await alice.call("a_set_acl", owned, -1, acl)).rc).toBe(0);
  } finally {
    alice.close();
  }
  const inside = `namespace=${owned.slice(1)}/intruder`;
  return {
    url,
    close: () => server.close(),
    security: {
      url,
      secrets: [password],
      refused: [
        {
          why: "alice with a wrong password",
          url: `zookeeper://alice:${encodeURIComponent(`wrong-${password}`)}@${host}?${inside}`,
        },
        { why: "another user", url: `zookeeper://mallory:m4llory-pw@${host}?${inside}` },
        { why: "no credentials", url: `zookeeper://${host}?${inside}` },
      ],
    },
  };
}

// A standalone server keeps its sessions across a restart within the session timeout.
runConformance({
  name: "zookeeper (standalone)",
  setup: async (options) => {
    if (options?.secure) return secureSetup();
    const server = await startZooKeeper({ nodes: 1, ...(options?.lab ? { host: options.lab.gateway } : {}) });
    const node = server.nodes[0];
    if (!node) throw new Error("no zookeeper node");
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
