import { RollcallError } from "@rollcall/core";
import { describe, expect, it } from "vitest";
import { httpUrl, parseListenAddress } from "../src/index.js";

describe("parseListenAddress", () => {
  it("reads host:port, [ipv6]:port, :port and a bare port (on 127.0.0.1)", () => {
    expect(parseListenAddress("9464")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseListenAddress(":0")).toEqual({ host: "127.0.0.1", port: 0 });
    expect(parseListenAddress("0.0.0.0:80")).toEqual({ host: "0.0.0.0", port: 80 });
    expect(parseListenAddress("metrics.internal:65535")).toEqual({ host: "metrics.internal", port: 65535 });
    expect(parseListenAddress("[::1]:9464")).toEqual({ host: "::1", port: 9464 });
    expect(httpUrl({ host: "::1", port: 1 })).toBe("http://[::1]:1");
    expect(httpUrl({ host: "127.0.0.1", port: 2 })).toBe("http://127.0.0.1:2");
  });

  it("refuses anything else with INVALID_ARGUMENT saying what is allowed, never echoing a URL with credentials", () => {
    for (const bad of [
      "",
      " ",
      "host:",
      "host:port",
      ":65536",
      "1.2.3.4:-1",
      "::1:80",
      "[::1]80",
      "[nope]:80",
      "http://x:80",
      "a b:80",
      "99999",
      "-1",
      "_x:80",
    ]) {
      let caught: unknown;
      try {
        parseListenAddress(bad);
      } catch (error) {
        caught = error;
      }
      expect(RollcallError.hasCode(caught, "INVALID_ARGUMENT"), bad).toBe(true);
      expect((caught as Error).message).toContain("use host:port, [ipv6]:port or a port (0–65535)");
    }
    try {
      parseListenAddress("redis://user:hunter2@127.0.0.1:6379");
    } catch (error) {
      expect((error as Error).message).not.toContain("hunter2");
    }
    expect(() => parseListenAddress(42 as unknown as string)).toThrow(RollcallError);
  });
});
