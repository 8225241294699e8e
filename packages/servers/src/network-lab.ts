import { randomInt } from "node:crypto";
import { writeFileSync } from "node:fs";
import { NetworkLabError } from "./errors.js";
import { IpCommandError, ipBinary, runIp } from "./ip-command.js";
import { janitor } from "./janitor.js";
import { isAlive } from "./process-tree.js";

/**
 * One host of a {@link NetworkLab}: a Linux network namespace joined to the lab's bridge by a veth pair, with
 * its own IPv4 address. Programs run inside it with {@link LabHost.command}; {@link LabHost.cut} partitions it.
 */
export interface LabHost {
  /** The network namespace's name (`rollcall-<owner pid>-<lab>-<index>`). */
  readonly name: string;
  /** Its IPv4 address on the lab bridge, such as `10.231.17.10`. */
  readonly address: string;
  /**
   * The argv that runs `file args` inside the host: `{ file: "/usr/sbin/ip", args: ["netns", "exec", name,
   * file, ...args] }`. `ip netns exec` execs the program, so the process id is the program's own.
   */
  command(file: string, args: readonly string[]): { file: string; args: string[] };
  /** Whether the host is partitioned by {@link LabHost.cut}. */
  readonly isCut: boolean;
  /**
   * Partition the host: its link goes down (`ip link set <root-side veth> down`), so packets both ways are
   * dropped (no RST, no ICMP from the peer); processes inside keep running and keep their sockets, and
   * established TCP connections resume after {@link LabHost.heal}. Idempotent.
   */
  cut(): Promise<void>;
  /** Bring the link back up. Idempotent. */
  heal(): Promise<void>;
}

/**
 * A private IPv4 network of network namespaces ("hosts") on one Linux bridge, for partition tests: each host
 * can be cut off and healed. Needs root and iproute2 (see {@link networkLabUnavailable}).
 */
export interface NetworkLab {
  /**
   * The root namespace's address on the lab bridge (`10.231.X.1`): start servers with `host: lab.gateway`;
   * it is reachable from the root namespace and from every host.
   */
  readonly gateway: string;
  /** The hosts added so far. */
  readonly hosts: readonly LabHost[];
  /**
   * Add a host: a new namespace with loopback up and an address `10.231.X.(10+i)` on the bridge.
   *
   * @param label - ignored by the network, kept for diagnostics in errors.
   * @throws {@link NetworkLabError} when an `ip` command fails or the lab is closed.
   */
  addHost(label?: string): Promise<LabHost>;
  /**
   * Delete every host namespace, veth and the bridge. Idempotent. Processes still running inside hosts are
   * the caller's: kill them first (close servers before their lab), or they linger in an unnamed namespace.
   */
  close(): Promise<void>;
}

/** Address prefix of every lab: lab X is 10.231.X.0/24. */
const LAB_PREFIX = "10.231";
/** Interface alias that marks a lab's bridge and veths with their owner's pid. */
const ALIAS_PREFIX = "rollcall-lab ";
/** Hosts get 10.231.X.(HOST_OFFSET + i). */
const HOST_OFFSET = 10;
const MAX_HOSTS = 240;

let unavailable: Promise<string | undefined> | undefined;

/**
 * Whether network labs can be created here: undefined when they can, else the reason (not root, no `ip`
 * command, namespace or bridge creation failing). Probes for real (creates and deletes a namespace and a
 * bridge) once per process and caches the answer.
 */
export function networkLabUnavailable(): Promise<string | undefined> {
  unavailable ??= probe();
  return unavailable;
}

async function probe(): Promise<string | undefined> {
  if (process.platform !== "linux") return `network labs need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "network labs need root (ip netns, bridges and veths)";
  const ip = ipBinary();
  if (ip === undefined) return "the `ip` command (Debian package iproute2) is not installed";
  const tag = `${process.pid}-probe-${randomInt(1 << 30)}`;
  const ns = `rollcall-${tag}`;
  const bridge = `rcprb${randomInt(1e9)}`.slice(0, 15);
  try {
    await runIp(ip, ["netns", "add", ns]);
  } catch (error) {
    return `cannot create a network namespace: ${(error as Error).message}`;
  }
  try {
    await runIp(ip, ["-n", ns, "link", "set", "lo", "up"]);
    await runIp(ip, ["link", "add", "name", bridge, "type", "bridge"]);
    await runIp(ip, ["link", "del", bridge]);
    return undefined;
  } catch (error) {
    return `cannot create a bridge: ${(error as Error).message}`;
  } finally {
    await runIp(ip, ["netns", "del", ns]).catch(() => undefined);
  }
}

/** Whether an `ip` failure says the thing already exists. */
function alreadyExists(error: unknown): boolean {
  return error instanceof IpCommandError && /File exists|already exists/i.test(error.stderr);
}

async function ignoreFailure(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch {
    // already gone
  }
}

/**
 * Delete what labs of dead owners left behind: namespaces named `rollcall-<pid>-…` and interfaces whose alias
 * is `rollcall-lab <pid>`, for pids that are not alive.
 */
async function sweepLeftovers(ip: string): Promise<void> {
  const dead = (pid: number): boolean => pid !== process.pid && !isAlive(pid);
  const namespaces = await runIp(ip, ["netns", "list"]).catch(() => "");
  for (const line of namespaces.split("\n")) {
    const name = line.trim().split(/\s+/)[0] ?? "";
    const owner = /^rollcall-(\d+)-/.exec(name)?.[1];
    if (owner !== undefined && dead(Number(owner))) await ignoreFailure(runIp(ip, ["netns", "del", name]));
  }
  let links: { ifname?: string; ifalias?: string }[] = [];
  try {
    links = JSON.parse(await runIp(ip, ["-j", "link", "show"])) as typeof links;
  } catch {
    return;
  }
  for (const link of links) {
    const alias = link.ifalias ?? "";
    if (link.ifname === undefined || !alias.startsWith(ALIAS_PREFIX)) continue;
    const owner = Number(alias.slice(ALIAS_PREFIX.length));
    if (Number.isInteger(owner) && dead(owner)) await ignoreFailure(runIp(ip, ["link", "del", link.ifname]));
  }
}

/** Third octets already used by an IPv4 address in 10.231.0.0/16 on this machine. */
async function usedOctets(ip: string): Promise<Set<number>> {
  const used = new Set<number>();
  const text = await runIp(ip, ["-4", "-o", "addr", "show"]).catch(() => "");
  for (const match of text.matchAll(/inet 10\.231\.(\d+)\./g)) used.add(Number(match[1]));
  return used;
}

class Host implements LabHost {
  readonly name: string;
  readonly address: string;
  /** The root-side veth, enslaved to the bridge. */
  readonly veth: string;
  readonly #ip: string;
  #cut = false;

  constructor(ip: string, name: string, address: string, veth: string) {
    this.#ip = ip;
    this.name = name;
    this.address = address;
    this.veth = veth;
  }

  get isCut(): boolean {
    return this.#cut;
  }

  command(file: string, args: readonly string[]): { file: string; args: string[] } {
    return { file: this.#ip, args: ["netns", "exec", this.name, file, ...args] };
  }

  async cut(): Promise<void> {
    await this.#link("down");
    this.#cut = true;
  }

  async heal(): Promise<void> {
    await this.#link("up");
    this.#cut = false;
  }

  async #link(state: "up" | "down"): Promise<void> {
    try {
      await runIp(this.#ip, ["link", "set", "dev", this.veth, state]);
    } catch (error) {
      throw new NetworkLabError(`${this.name}: cannot set its link ${state}: ${(error as Error).message}`);
    }
  }
}

class Lab implements NetworkLab {
  readonly gateway: string;
  readonly #ip: string;
  readonly #octet: number;
  readonly #bridge: string;
  readonly #hosts: Host[] = [];
  readonly #cleanup: string[][] = [];
  #adding: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  constructor(ip: string, octet: number, bridge: string) {
    this.#ip = ip;
    this.#octet = octet;
    this.#bridge = bridge;
    this.gateway = `${LAB_PREFIX}.${octet}.1`;
  }

  get hosts(): readonly LabHost[] {
    return this.#hosts;
  }

  /** Register a teardown command with the janitor (runs on exit or when this process dies). */
  track(argv: string[]): void {
    this.#cleanup.push(argv);
    janitor.trackCommand(argv);
  }

  addHost(label?: string): Promise<LabHost> {
    const next = this.#adding.then(() => this.#addHost(label));
    this.#adding = next.catch(() => undefined);
    return next;
  }

  async #addHost(label: string | undefined): Promise<LabHost> {
    if (this.#closing !== undefined) throw new NetworkLabError("the lab is closed");
    const index = this.#hosts.length;
    if (index >= MAX_HOSTS) throw new NetworkLabError(`at most ${MAX_HOSTS} hosts per lab`);
    const name = `rollcall-${process.pid}-${this.#octet}-${index}`;
    const veth = `rcv${this.#octet}-${index}`;
    const address = `${LAB_PREFIX}.${this.#octet}.${HOST_OFFSET + index}`;
    const ip = (...args: string[]): Promise<string> => runIp(this.#ip, args);
    try {
      await ip("netns", "add", name);
      this.track([this.#ip, "netns", "del", name]);
      await ip("link", "add", veth, "type", "veth", "peer", "name", "lab0", "netns", name);
      this.track([this.#ip, "link", "del", veth]);
      await ip("link", "set", "dev", veth, "alias", `${ALIAS_PREFIX}${process.pid}`);
      await ip("link", "set", "dev", veth, "master", this.#bridge);
      await ip("link", "set", "dev", veth, "up");
      await ip("-n", name, "link", "set", "dev", "lo", "up");
      await ip("-n", name, "addr", "add", `${address}/24`, "dev", "lab0");
      await ip("-n", name, "link", "set", "dev", "lab0", "up");
    } catch (error) {
      await ignoreFailure(ip("netns", "del", name));
      await ignoreFailure(ip("link", "del", veth));
      throw new NetworkLabError(`cannot add host ${label ?? index} (${name}): ${(error as Error).message}`);
    }
    const host = new Host(this.#ip, name, address, veth);
    this.#hosts.push(host);
    return host;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.#adding;
    for (const host of this.#hosts) {
      await ignoreFailure(runIp(this.#ip, ["netns", "del", host.name]));
      await ignoreFailure(runIp(this.#ip, ["link", "del", host.veth]));
    }
    await ignoreFailure(runIp(this.#ip, ["link", "del", this.#bridge]));
    for (const argv of this.#cleanup.splice(0)) janitor.untrackCommand(argv);
  }
}

/**
 * Create a {@link NetworkLab}: a bridge `rcbrX` in the root namespace with address `10.231.X.1/24`, X chosen
 * at random among the third octets no interface uses (creating the bridge claims X, so concurrent labs in
 * other processes cannot collide). Leftovers of labs whose owner process is dead are removed first. The lab
 * is torn down on a normal exit of this process and by the watchdog when this process is killed; close it
 * with {@link NetworkLab.close}.
 *
 * Bridge netfilter is turned off on the bridge (`nf_call_iptables 0`) and reverse-path filtering on its
 * interface, so firewall rules of the machine do not drop lab traffic.
 *
 * @throws {@link NetworkLabError} with the reason when labs cannot be created here.
 */
export async function createNetworkLab(): Promise<NetworkLab> {
  const reason = await networkLabUnavailable();
  if (reason !== undefined) throw new NetworkLabError(reason);
  const ip = ipBinary();
  if (ip === undefined) throw new NetworkLabError("the `ip` command is not installed");
  await sweepLeftovers(ip);
  for (let attempt = 0; attempt < 64; attempt++) {
    const used = await usedOctets(ip);
    const octet = randomInt(1, 255);
    if (used.has(octet)) continue;
    const bridge = `rcbr${octet}`;
    try {
      await runIp(ip, [
        "link",
        "add",
        "name",
        bridge,
        "type",
        "bridge",
        "nf_call_iptables",
        "0",
        "nf_call_ip6tables",
        "0",
        "nf_call_arptables",
        "0",
      ]).catch(async (error: unknown) => {
        if (alreadyExists(error)) throw error;
        await runIp(ip, ["link", "add", "name", bridge, "type", "bridge"]);
      });
    } catch (error) {
      if (alreadyExists(error)) continue;
      throw new NetworkLabError(`cannot create bridge ${bridge}: ${(error as Error).message}`);
    }
    const lab = new Lab(ip, octet, bridge);
    lab.track([ip, "link", "del", bridge]);
    try {
      await runIp(ip, ["link", "set", "dev", bridge, "alias", `${ALIAS_PREFIX}${process.pid}`]);
      await runIp(ip, ["addr", "add", `${LAB_PREFIX}.${octet}.1/24`, "dev", bridge]);
      await runIp(ip, ["link", "set", "dev", bridge, "up"]);
      try {
        writeFileSync(`/proc/sys/net/ipv4/conf/${bridge}/rp_filter`, "0");
      } catch {
        // on-link traffic passes strict reverse-path filtering anyway
      }
    } catch (error) {
      await lab.close();
      throw new NetworkLabError(`cannot set up bridge ${bridge}: ${(error as Error).message}`);
    }
    return lab;
  }
  throw new NetworkLabError("no free 10.231.X.0/24 network after 64 attempts");
}
