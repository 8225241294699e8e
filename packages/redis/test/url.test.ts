import { parseUrl, RollcallError } from "@rollcall/core";
import { describe, expect, it } from "vitest";
import { KeySpace } from "../src/key-space.js";
import { readRedisTarget } from "../src/redis-options.js";

function target(url: string) {
  return readRedisTarget(parseUrl(url));
}

describe("redis:// URL grammar", () => {
  it("reads host, port, db and credentials", () => {
    const t = target("redis://app:s3cret@10.0.0.5:6380/3");
    expect(t.options).toMatchObject({
      host: "10.0.0.5",
      port: 6380,
      db: 3,
      username: "app",
      password: "s3cret",
    });
    expect(t.where).toBe("10.0.0.5:6380");
    expect(t.sentinel).toBe(false);
    expect(t.tls).toBe(false);
  });

  it("defaults to 127.0.0.1:6379, db 0", () => {
    expect(target("redis://").options).toMatchObject({ host: "127.0.0.1", port: 6379, db: 0 });
    expect(target("redis://h/").options).toMatchObject({ host: "h", port: 6379, db: 0 });
  });

  it("rediss:// turns TLS on, with tlsRejectUnauthorized", () => {
    const t = target("rediss://cache.example:6390?tlsRejectUnauthorized=false");
    expect(t.tls).toBe(true);
    expect(t.options.tls).toMatchObject({ servername: "cache.example", rejectUnauthorized: false });
  });

  it("Sentinel: sentinel=<master> with sentinels=h:p,h:p or the URL's hosts", () => {
    const listed = target("redis://:pw@ignored:1/2?sentinel=mymaster&sentinels=s1:26379,s2:26380,s3");
    expect(listed.sentinel).toBe(true);
    expect(listed.options).toMatchObject({
      name: "mymaster",
      db: 2,
      password: "pw",
      sentinels: [
        { host: "s1", port: 26379 },
        { host: "s2", port: 26380 },
        { host: "s3", port: 26379 },
      ],
    });
    expect(listed.options.sentinelPassword).toBeUndefined();
    const hosts = target("redis://:pw@s1:5000,s2/0?sentinel=m&sentinelAuth=inherit");
    expect(hosts.options.sentinels).toEqual([
      { host: "s1", port: 5000 },
      { host: "s2", port: 26379 },
    ]);
    expect(hosts.options.sentinelPassword).toBe("pw");
  });

  it.each([
    ["redis://h/servicegroups", "database number"],
    ["redis://a,b", "several hosts"],
    ["redis://h?sentinels=a:1", "need sentinel"],
    ["redis://h?sentinel=m&sentinels=a:1:2", "sentinels must be"],
    ["redis://h?logLength=5", "logLength"],
    ["redis://h?tlsCaFile=/x", "rediss://"],
    ["rediss://h?tlsRejectUnauthorized=maybe", "true or false"],
    ["redis://h?sentinel=m&sentinelAuth=always", "sentinelAuth"],
  ])("%s is rejected with INVALID_ARGUMENT", (url, text) => {
    let caught: unknown;
    try {
      target(url);
    } catch (error) {
      caught = error;
    }
    expect(RollcallError.hasCode(caught, "INVALID_ARGUMENT")).toBe(true);
    expect(String((caught as Error).message)).toContain(text);
  });

  it("never puts the password in an error", () => {
    try {
      target("redis://u:topsecret@h/x");
    } catch (error) {
      expect(String((error as Error).message)).not.toContain("topsecret");
    }
  });
});

describe("key layout", () => {
  it("prefixes every key with the namespace as a hash tag", () => {
    const keys = new KeySpace("servicegroups/nova");
    expect(keys.prefix).toBe("rollcall:{servicegroups/nova}:");
    expect(keys.channel("compute")).toBe("rollcall:{servicegroups/nova}:c/compute");
    expect(keys.groupOfChannel("rollcall:{servicegroups/nova}:c/compute")).toBe("compute");
    expect(keys.groupOfChannel("rollcall:{other}:c/compute")).toBeUndefined();
  });

  it.each(["a/b", "a}b", "a*", "x\ny", "", "a b"])("refuses to build a key from %j", (name) => {
    expect(() => new KeySpace("ns").channel(name)).toThrow(RollcallError);
  });
});
