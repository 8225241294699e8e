/** How `server` / `cluster` targets turn into `setup()` and the suites' flags. */
import type { NetworkLab, ServerNode } from "@rollcall/servers";
import { describe, expect, it } from "vitest";
import { resolveOptions } from "../src/server-target.js";

function fakeServer(url: string, log: string[]) {
  const node = { restart: async () => void log.push("restart") } as unknown as ServerNode;
  return { url, nodes: [node], close: async () => void log.push(`close ${url}`) };
}

describe("resolveOptions()", () => {
  it("a server: restartServer, partition and security suites, setup() for each", async () => {
    const log: string[] = [];
    const options = resolveOptions({
      name: "x",
      server: {
        start: async (at) => fakeServer(`x://${at.host ?? "127.0.0.1"}:1`, log),
        secure: async ({ namespacePrefix }) => ({
          url: `x://app:secret-pw@h?prefix=${namespacePrefix}`,
          secrets: ["secret-pw"],
          refused: [{ why: "no password", url: "x://h" }],
          close: async () => void log.push("close secure"),
        }),
        restart: { preservesSessions: true },
      },
    });
    expect([options.faults, options.partition, options.security]).toEqual([["restartServer"], true, true]);
    expect(resolveOptions(options)).toBe(options);
    const main = await options.setup();
    expect(main.url).toBe("x://127.0.0.1:1");
    await main.faults?.restartServer?.run();
    expect(main.faults?.restartServer?.preservesSessions).toBe(true);
    const lab = await options.setup({ lab: { gateway: "10.231.7.1" } as NetworkLab });
    expect(lab.url).toBe("x://10.231.7.1:1");
    const secure = await options.setup({ secure: true });
    expect(secure.security).toEqual({
      url: "x://app:secret-pw@h?prefix=ns-",
      secrets: ["secret-pw"],
      refused: [{ why: "no password", url: "x://h" }],
    });
    await secure.close?.();
    expect(log).toEqual(["restart", "close secure"]);
  });

  it("a server without restart or secure registers neither; partition: false turns the partition suite off", () => {
    const options = resolveOptions({
      name: "x",
      server: { start: async () => fakeServer("x://h", []), partition: false },
    });
    expect([options.faults, options.partition, options.security]).toEqual([[], false, false]);
  });

  it("a cluster: killNode and partitionNode unless false", () => {
    const start = async () => ({ ...fakeServer("x://h", []), leader: async () => ({}) as ServerNode });
    expect(resolveOptions({ name: "x", cluster: { start } }).faults).toEqual(["killNode", "partitionNode"]);
    expect(resolveOptions({ name: "x", cluster: { start, partitionLeader: false } }).faults).toEqual([
      "killNode",
    ]);
  });

  it("exactly one of setup, server and cluster", () => {
    const setup = async () => ({ url: "x://h" });
    expect(() => resolveOptions({ name: "x" })).toThrow(/exactly one/);
    expect(() =>
      resolveOptions({ name: "x", setup, server: { start: async () => fakeServer("x://h", []) } }),
    ).toThrow(/exactly one/);
    expect(resolveOptions({ name: "x", setup }).setup).toBe(setup);
  });
});
