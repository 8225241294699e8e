import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { ServerNode } from "./types.js";

/** How long {@link Server.stats} waits for one node, in milliseconds. */
export const STATS_TIMEOUT_MS = 2000;

/**
 * The node answered, but refused or failed the probe (wrong credentials, an SQL error): `stats()` rejects
 * with it, where a node that does not answer at all is only counted as unreachable.
 */
export class StatsRefusedError extends Error {
  /** @param message - what the server said (never a secret). */
  constructor(message: string) {
    super(message);
    this.name = "StatsRefusedError";
  }
}

/** What the nodes of a server answered. */
export interface NodeAnswers<T> {
  /** The nodes that answered, in node order. */
  answers: { node: ServerNode; value: T }[];
  /** How many nodes were skipped: down, paused, partitioned, silent for too long, or not serving. */
  unreachable: number;
}

/** Reject after `ms` milliseconds unless `promise` settles first. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Ask every node at once. Nodes that are not running, paused or partitioned are skipped without waiting;
 * a node whose answer fails (connection refused, timeout, or `ask` resolving to undefined) is unreachable;
 * a {@link StatsRefusedError} rejects the whole call.
 */
export async function askNodes<T>(
  nodes: readonly ServerNode[],
  ask: (node: ServerNode) => Promise<T | undefined>,
  timeoutMs = STATS_TIMEOUT_MS,
): Promise<NodeAnswers<T>> {
  const values = await Promise.all(
    nodes.map(async (node) => {
      if (!node.running || node.paused || node.partitioned) return undefined;
      try {
        return await withTimeout(ask(node), timeoutMs + 100);
      } catch (error) {
        if (error instanceof StatsRefusedError) throw error;
        return undefined;
      }
    }),
  );
  const answers: { node: ServerNode; value: T }[] = [];
  values.forEach((value, i) => {
    const node = nodes[i];
    if (value !== undefined && node !== undefined) answers.push({ node, value });
  });
  return { answers, unreachable: nodes.length - answers.length };
}

/** `address:port` as /proc/net/tcp writes it: the IPv4 address as a little-endian hex word, the port in hex. */
function procAddress(host: string, port: number): string {
  const octets = host.split(".").map(Number);
  if (octets.length !== 4 || octets.some((octet) => !Number.isInteger(octet) || octet < 0 || octet > 255)) {
    throw new RangeError(`not an IPv4 address: ${host}`);
  }
  const word = octets
    .reverse()
    .map((octet) => octet.toString(16).padStart(2, "0"))
    .join("");
  return `${word}:${port.toString(16).padStart(4, "0")}`.toUpperCase();
}

/** Inodes of the sockets process `pid` has open. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith("socket:[")) inodes.add(target.slice(8, -1));
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/**
 * Established TCP connections that process `pid` accepted on `host:port`, read from `/proc/<pid>/net/tcp`
 * (the table of the process's own network namespace, so lab hosts work too) and `/proc/<pid>/fd`.
 * Connections the process opened to itself (etcd's gRPC gateway dials its own client port) are left out:
 * their client end is one of the process's own sockets.
 *
 * @throws when the process is gone (ENOENT) or its /proc entries cannot be read.
 */
export function acceptedConnections(pid: number, host: string, port: number): number {
  const local = procAddress(host, port);
  const own = socketInodes(pid);
  const rows = readFileSync(`/proc/${pid}/net/tcp`, "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 10);
  // client end (local address → remote address) of every connection in the table, with its inode
  const ends = new Map<string, string>();
  for (const fields of rows) ends.set(`${fields[1]}>${fields[2]}`, fields[9] ?? "0");
  let count = 0;
  for (const fields of rows) {
    const [, localAddress, remoteAddress, state, , , , , , inode] = fields;
    if (localAddress !== local || state !== "01" || inode === undefined || !own.has(inode)) continue;
    const clientEnd = ends.get(`${remoteAddress}>${localAddress}`);
    if (clientEnd !== undefined && own.has(clientEnd)) continue;
    count++;
  }
  return count;
}

/** Parse `key<TAB or colon or space>value` lines into numbers (non-numeric values are left out). */
export function numericLines(text: string, separator: RegExp): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split(/\r?\n/)) {
    const match = separator.exec(line);
    if (match === null) continue;
    const key = line.slice(0, match.index).trim();
    const value = Number(line.slice(match.index + match[0].length).trim());
    if (key !== "" && Number.isFinite(value)) values.set(key, value);
  }
  return values;
}
