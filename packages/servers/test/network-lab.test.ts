import { execFileSync, spawn, spawnSync } from "node:child_process";
import { readlinkSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNetworkLab, isAlive, type NetworkLab, networkLabUnavailable } from "../src/index.js";
import { assertBuilt, packagePath } from "./built.js";
import { exists, waitUntil } from "./helpers.js";
import { connectScript, HostClient, runIn } from "./lab-helpers.js";

const reason = await networkLabUnavailable();
if (reason !== undefined) console.warn(`network-lab tests skipped: ${reason}`);

function namespaces(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name !== "");
}

function linkExists(name: string): boolean {
  return spawnSync("ip", ["link", "show", "dev", name], { stdio: "ignore" }).status === 0;
}

/** An echo-ish server on the gateway: records what it receives, keeps its sockets. */
async function lineServer(host: string): Promise<{
  port: number;
  received: string[];
  sockets: Socket[];
  close: () => Promise<void>;
}> {
  const received: string[] = [];
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.setEncoding("utf8");
    socket.on("data", (data: string) => received.push(...data.split("\n").filter((l) => l !== "")));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    received,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe.skipIf(reason !== undefined)("network lab", () => {
  let lab: NetworkLab;

  beforeAll(async () => {
    lab = await createNetworkLab();
  });
  afterAll(async () => {
    await lab?.close();
  });

  it("gives hosts addresses on the gateway's /24, reachable from the root namespace and from each other", async () => {
    expect(lab.gateway).toMatch(/^10\.231\.\d+\.1$/);
    const a = await lab.addHost("a");
    const b = await lab.addHost("b");
    expect(a.address).not.toBe(b.address);
    expect(a.address.split(".").slice(0, 3)).toEqual(lab.gateway.split(".").slice(0, 3));
    expect(namespaces()).toContain(a.name);
    expect(a.name).toMatch(new RegExp(`^rollcall-${process.pid}-`));
    expect(a.command("node", ["-v"])).toEqual({
      file: expect.stringMatching(/ip$/),
      args: ["netns", "exec", a.name, "node", "-v"],
    });

    const server = await lineServer(lab.gateway);
    try {
      expect((await runIn(a, connectScript(lab.gateway, server.port))).stdout.trim()).toBe("connected");
    } finally {
      await server.close();
    }

    // a server inside host a, reached from host b and from the root namespace
    const listener = `require("net").createServer((s) => { s.on("error", () => {}); s.end("hi"); }).listen(4567, ${JSON.stringify(a.address)}, () => console.log("listening"));`;
    const { file, args } = a.command(process.execPath, ["-e", listener]);
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "ignore"] });
    try {
      await new Promise<void>((resolve) => child.stdout?.once("data", () => resolve()));
      expect((await runIn(b, connectScript(a.address, 4567))).stdout.trim()).toBe("connected");
      const fromRoot = await new Promise<string>((resolve) => {
        const s = connect({ host: a.address, port: 4567 });
        s.on("connect", () => s.destroy());
        s.on("connect", () => resolve("connected"));
        s.on("error", (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
      });
      expect(fromRoot).toBe("connected");
      // `ip netns exec` execs: the pid is node's own
      expect(readlinkSync(`/proc/${child.pid}/exe`)).toBe(process.execPath);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("cut() drops packets both ways without resetting connections; heal() resumes the same connection", async () => {
    const host = await lab.addHost("partitioned");
    const server = await lineServer(lab.gateway);
    const client = new HostClient(host, lab.gateway, server.port);
    try {
      await waitUntil("connection", () => client.lines.includes("!connected") && server.sockets.length === 1);
      client.send("before");
      await waitUntil("before", () => server.received.includes("before"));

      await host.cut();
      await host.cut(); // idempotent
      expect(host.isCut).toBe(true);
      client.send("during");
      server.sockets[0]?.write("to-client\n");
      const attempt = await runIn(host, connectScript(lab.gateway, server.port, 2500));
      expect(attempt.stdout.trim()).toMatch(/^error (TIMEOUT|EHOSTUNREACH|ENETUNREACH)$/);
      expect(server.received).not.toContain("during");
      expect(client.lines).not.toContain("to-client");
      expect(client.lines.filter((l) => l.startsWith("!error") || l === "!close")).toEqual([]);
      expect(server.sockets[0]?.destroyed).toBe(false);

      await host.heal();
      await host.heal();
      expect(host.isCut).toBe(false);
      await waitUntil("retransmission to the server", () => server.received.includes("during"), 15_000);
      await waitUntil("retransmission to the client", () => client.lines.includes("to-client"), 15_000);
      client.send("after");
      await waitUntil("after", () => server.received.includes("after"));
      expect(server.sockets).toHaveLength(1);
      expect((await runIn(host, connectScript(lab.gateway, server.port))).stdout.trim()).toBe("connected");
    } finally {
      client.kill();
      await server.close();
    }
  });

  it("close() deletes the namespaces, veths and bridge; a new lab sweeps leftovers of dead owners", async () => {
    const other = await createNetworkLab();
    const host = await other.addHost();
    expect(other.gateway).not.toBe(lab.gateway);
    const bridge = `rcbr${other.gateway.split(".")[2]}`;
    expect(linkExists(bridge)).toBe(true);
    await other.close();
    await other.close();
    expect(namespaces()).not.toContain(host.name);
    expect(linkExists(bridge)).toBe(false);
    await expect(other.addHost()).rejects.toThrow(/closed/);

    // a leftover of a dead process
    const dead = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
    const deadPid = Number(dead.stdout.trim());
    const leftover = `rollcall-${deadPid}-999-0`;
    execFileSync("ip", ["netns", "add", leftover]);
    execFileSync("ip", ["link", "add", "rcleftover0", "type", "veth", "peer", "name", "rcleftover1"]);
    execFileSync("ip", ["link", "set", "dev", "rcleftover0", "alias", `rollcall-lab ${deadPid}`]);
    const third = await createNetworkLab();
    try {
      expect(namespaces()).not.toContain(leftover);
      expect(linkExists("rcleftover0")).toBe(false);
      expect(namespaces().some((n) => n.startsWith(`rollcall-${process.pid}-`))).toBe(true); // ours stay
    } finally {
      await third.close();
    }
  });

  describe("teardown when the owner process ends without close()", () => {
    beforeAll(() => assertBuilt());

    async function startLabChild(mode: string): Promise<{
      child: ReturnType<typeof spawn>;
      report: { pid: number; netns: string; bridge: string; dir: string };
    }> {
      const child = spawn(process.execPath, [packagePath("test/fixtures/lab-child.mjs"), mode], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      const first = await new Promise<string>((resolve) => lines.once("line", resolve));
      return {
        child,
        report: JSON.parse(first) as { pid: number; netns: string; bridge: string; dir: string },
      };
    }

    for (const mode of ["wait", "exit"]) {
      it(`${mode === "wait" ? "SIGKILL" : "process.exit()"}: the server dies and the namespace and bridge go`, async () => {
        const { child, report } = await startLabChild(mode);
        expect(namespaces()).toContain(report.netns);
        expect(linkExists(report.bridge)).toBe(true);
        if (mode === "wait") child.kill("SIGKILL");
        else child.stdin?.write("exit\n");
        await waitUntil("the server's death", () => !isAlive(report.pid), 15_000);
        await waitUntil("the namespace's removal", () => !namespaces().includes(report.netns), 15_000);
        await waitUntil("the bridge's removal", () => !linkExists(report.bridge), 15_000);
        await waitUntil("the directory's removal", () => !exists(report.dir), 15_000);
      });
    }
  });
});
