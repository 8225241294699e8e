import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { connect } from "@rollcall/core";
import { afterEach, describe, expect, it } from "vitest";
import "@rollcall/zookeeper";
import { eventually, fresh, standaloneServer } from "./helpers.js";

// The ZooKeeper C client inside the `zookeeper` binding opens its sockets itself (not through libuv, which
// sets close-on-exec on everything it opens). Without SOCK_CLOEXEC a process the application spawns — the
// CLI's `campaign -- cmd`, `lock -- cmd`, `join -- cmd` — inherits the parent's ZooKeeper connections and
// keeps them open after the parent is gone. patches/zookeeper@7.3.0.patch builds the C client with
// `--with-sock-cloexec`; this file checks the result through /proc (Linux only).
const zk = standaloneServer();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

/** The inode of every socket a process holds, from `readlink /proc/<pid>/fd/*` (`socket:[inode]`). */
function socketInodes(pid: number | "self"): Set<string> {
  const inodes = new Set<string>();
  const dir = `/proc/${pid}/fd`;
  for (const fd of readdirSync(dir)) {
    let target: string;
    try {
      target = readlinkSync(`${dir}/${fd}`);
    } catch {
      continue; // closed since the listing
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined) inodes.add(inode);
  }
  return inodes;
}

/** The inodes of the established TCP connections (IPv4 and IPv6) whose remote port is `port`. */
function connectionsTo(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      const remotePort = Number.parseInt(fields[2]?.split(":")[1] ?? "", 16);
      if (remotePort === port && fields[3] === "01" && fields[9] !== undefined) inodes.add(fields[9]);
    }
  }
  return inodes;
}

/** This process's sockets connected to the ZooKeeper server. */
function zooKeeperSockets(): string[] {
  const mine = socketInodes("self");
  return [...connectionsTo(zk.server.nodes[0]?.port ?? 0)].filter((inode) => mine.has(inode));
}

/** Spawns a child that waits, as the CLI's supervised commands do, once it has exec'd. */
async function spawnWaitingChild(): Promise<number> {
  const child = spawn("sleep", ["60"], { stdio: "ignore" });
  children.push(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error("sleep did not start");
  await eventually(
    () => {
      try {
        return readlinkSync(`/proc/${pid}/exe`).endsWith("/sleep");
      } catch {
        return false;
      }
    },
    5000,
    "the child to exec sleep",
  );
  return pid;
}

/** The ZooKeeper sockets of this process that the child holds too. */
function inheritedBy(pid: number, parentSockets: string[]): string[] {
  const childSockets = socketInodes(pid);
  return parentSockets.filter((inode) => childSockets.has(inode));
}

// Linux only, as every test that reads /proc (the project runs on Debian).
describe("close-on-exec", () => {
  it("a child process holds none of the coordinator's ZooKeeper sockets, also after a reconnect", async () => {
    await using coord = await connect(zk.server.url, { memberId: fresh("m") });
    const group = fresh("g");
    await coord.join(group, { createGroup: true });
    const first = zooKeeperSockets();
    expect(first.length, "the coordinator's connection to ZooKeeper").toBeGreaterThan(0);
    const child = await spawnWaitingChild();
    expect(inheritedBy(child, first), "ZooKeeper sockets the child inherited").toEqual([]);

    // A reconnect opens a new socket (the C client's connect path): a server restart within the session
    // timeout keeps the session and moves it to a new connection.
    await zk.server.nodes[0]?.restart();
    let second: string[] = [];
    await eventually(
      () => {
        second = zooKeeperSockets().filter((inode) => !first.includes(inode));
        // A new socket exists as soon as the TCP connection does; the session is moved onto it only by the
        // handshake after it (a request before that fails with a connection loss): wait for both.
        return second.length > 0 && coord.state === "connected";
      },
      15_000,
      "a new connection to the restarted server, with the session on it",
    );
    expect((await coord.members(group)).map((m) => m.id)).toEqual([coord.memberId]);
    const later = await spawnWaitingChild();
    expect(inheritedBy(later, second), "ZooKeeper sockets the second child inherited").toEqual([]);
  });
});
