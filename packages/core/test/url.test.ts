import { describe, expect, it } from "vitest";
import { connect, parseUrl, RollcallError, redactUrl } from "../src/index.js";
import { readCommonOptions } from "../src/url.js";
import "./support/register.js";

const backend = {
  name: "zk",
  schemes: ["zk"],
  defaultSessionTimeout: 4000,
  defaultRetryInterval: 5000,
  defaultNamespace: "servicegroups",
  pathIsNamespace: true,
  params: ["extra"],
  create: () => {
    throw new Error("unused");
  },
};

describe("URLs", () => {
  it("parses a multi-host authority, credentials, path and query", () => {
    const url = parseUrl(
      "zookeeper://app:p%40ss@10.0.0.1:2181,10.0.0.2:2182,host3/servicegroups?sessionTimeout=4000",
    );
    expect(url.scheme).toBe("zookeeper");
    expect(url.hosts).toEqual([
      { host: "10.0.0.1", port: 2181 },
      { host: "10.0.0.2", port: 2182 },
      { host: "host3" },
    ]);
    expect(url.username).toBe("app");
    expect(url.password).toBe("p@ss");
    expect(url.path).toBe("/servicegroups");
    expect(url.params.get("sessionTimeout")).toBe("4000");
    expect(url.redacted).toBe(
      "zookeeper://app:***@10.0.0.1:2181,10.0.0.2:2182,host3/servicegroups?sessionTimeout=4000",
    );
    expect(JSON.stringify(url)).not.toContain("p%40ss");
    expect(JSON.stringify(url)).not.toContain("p@ss");
  });

  it("parses IPv6 hosts and URLs without a host", () => {
    expect(parseUrl("etcd://[::1]:2379").hosts).toEqual([{ host: "::1", port: 2379 }]);
    expect(parseUrl("sqlite:///var/lib/rollcall.db")).toMatchObject({
      hosts: [],
      path: "/var/lib/rollcall.db",
    });
    expect(parseUrl("memory://").hosts).toEqual([]);
  });

  it("refuses malformed URLs without echoing the password", () => {
    for (const bad of ["no-scheme", "zk://h:0", "zk://h:70000", "zk://h o:1", "zk://user:secret@h:1%zz/x"]) {
      let error: unknown;
      try {
        parseUrl(bad);
      } catch (e) {
        error = e;
      }
      expect(RollcallError.hasCode(error, "INVALID_ARGUMENT")).toBe(true);
      expect(String(error)).not.toContain("secret");
    }
    expect(redactUrl("redis://u:topsecret@h:1/0")).toBe("redis://u:***@h:1/0");
  });

  it("hides a password with unescaped / or @ in it, in redactUrl() and in errors", () => {
    expect(redactUrl("redis://u:top/se@cret@h:1/0?x=1")).toBe("redis://u:***@h:1/0?x=1");
    for (const bad of [
      "zk://alice:wrong/secret@h:1",
      "zk://alice:s3cret/x@h:1/ns",
      "redis://:p/assw0rd@h:1/0",
    ]) {
      let error: unknown;
      try {
        parseUrl(bad);
      } catch (e) {
        error = e;
      }
      expect(RollcallError.hasCode(error, "INVALID_ARGUMENT")).toBe(true);
      for (const part of ["wrong", "secret", "s3cret", "p/assw0rd", "assw0rd"]) {
        expect((error as Error).message).not.toContain(part);
      }
      expect((error as Error).message).toContain("percent-encode");
    }
  });

  it("reads the common options with the backend's defaults; the path is the namespace where declared", () => {
    const options = readCommonOptions(parseUrl("zk://h/prefix/sub?retryInterval=250"), backend);
    expect(options).toMatchObject({
      sessionTimeout: 4000,
      retryInterval: 250,
      namespace: "prefix/sub",
      maxMetadataBytes: 65536,
    });
    expect(readCommonOptions(parseUrl("zk://h"), backend).namespace).toBe("servicegroups");
    expect(readCommonOptions(parseUrl("zk://h/p?namespace=other"), backend).namespace).toBe("other");
  });

  it("refuses unknown, repeated and out-of-range options, naming the key", () => {
    const cases = [
      "zk://h?bogus=1",
      "zk://h?sessionTimeout=1&sessionTimeout=2",
      "zk://h?sessionTimeout=abc",
      "zk://h?sessionTimeout=5",
      "zk://h?maxMetadataBytes=100000",
      "zk://h?namespace=../x",
    ];
    for (const text of cases) {
      let error: unknown;
      try {
        readCommonOptions(parseUrl(text), backend);
      } catch (e) {
        error = e;
      }
      expect(RollcallError.hasCode(error, "INVALID_ARGUMENT"), text).toBe(true);
    }
    expect(readCommonOptions(parseUrl("zk://h?extra=1"), backend).namespace).toBe("servicegroups");
  });

  it("connect() names the package to install for a known scheme whose backend is absent", async () => {
    const error = await connect("etcd://127.0.0.1:1", { memberId: "x" }).catch((e: unknown) => e);
    if (RollcallError.hasCode(error, "UNKNOWN_SCHEME"))
      expect((error as Error).message).toContain("@rollcall/etcd");
    const unknown = await connect("gopher://h", { memberId: "x" }).catch((e: unknown) => e);
    expect(RollcallError.hasCode(unknown, "UNKNOWN_SCHEME")).toBe(true);
  });

  it("connect() refuses unmet characteristics with CHARACTERISTIC_MISMATCH", async () => {
    const error = await connect("test://h", { memberId: "x", require: { scope: "cluster" } }).catch(
      (e: unknown) => e,
    );
    expect(RollcallError.hasCode(error, "CHARACTERISTIC_MISMATCH")).toBe(true);
    expect((error as Error).message).toContain("scope");
    const ok = await connect("test://h", { memberId: "y", require: { scope: "process", watch: "poll" } });
    await ok.close();
  });
});
