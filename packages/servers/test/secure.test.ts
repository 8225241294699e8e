import { readFileSync } from "node:fs";
import { Etcd3 } from "etcd3";
import { describe, expect, it } from "vitest";
import { secureEtcd, secureZooKeeper } from "../src/index.js";
import { createZnodeAs } from "../src/zookeeper-wire.js";

describe("secure servers", () => {
  it("secureEtcd(): app may write only under keyPrefix, with its password and the client certificate", async () => {
    await using secure = await secureEtcd({ keyPrefix: "ns-" });
    const url = new URL(secure.url.replace(/^etcds:/, "https:"));
    expect(url.username).toBe("app");
    const password = decodeURIComponent(url.password);
    expect(secure.secrets).toContain(password);
    expect(secure.refused.map((r) => r.why)).toEqual([
      "a wrong password",
      "an unknown user",
      "no client certificate",
    ]);
    const files = secure.server.certificates!;
    const client = new Etcd3({
      hosts: [...secure.server.hosts],
      auth: { username: "app", password },
      credentials: {
        rootCertificate: readFileSync(files.caFile),
        certChain: readFileSync(files.clientCertFile),
        privateKey: readFileSync(files.clientKeyFile),
      },
    });
    try {
      await client.put("ns-x/a").value("1");
      expect(await client.get("ns-x/a").string()).toBe("1");
      await expect(client.put("nt-x/a").value("1")).rejects.toThrow(/permission denied/i);
    } finally {
      client.close();
    }
  });

  it("secureZooKeeper(): only alice may write below the owned znode the refused URLs name", async () => {
    await using secure = await secureZooKeeper();
    const node = secure.server.nodes[0]!;
    const password = decodeURIComponent(new URL(secure.url.replace(/^zookeeper:/, "http:")).password);
    const owned = /namespace=([^/&]+)/.exec(secure.refused[0]!.url)![1]!;
    const open = [{ perms: 31, scheme: "world", id: "anyone" }];
    await expect(
      createZnodeAs(node.host, node.port, "mallory:m4llory-pw", `/${owned}/x`, open),
    ).rejects.toThrow(/NOAUTH/);
    await expect(
      createZnodeAs(node.host, node.port, `alice:wrong-${password}`, `/${owned}/x`, open),
    ).rejects.toThrow(/NOAUTH/);
    await createZnodeAs(node.host, node.port, `alice:${password}`, `/${owned}/x`, open);
    await expect(createZnodeAs(node.host, node.port, `alice:${password}`, `/${owned}`, open)).rejects.toThrow(
      /NODEEXISTS/,
    );
  });
});
