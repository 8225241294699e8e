import { createHash } from "node:crypto";
import { RollcallError } from "./errors/rollcall-error.js";

/** Options of {@link HashRing.getNodes}. */
export interface GetNodesOptions {
  /** How many distinct nodes to return (default 1). */
  replicas?: number;
  /** Nodes to skip. */
  ignore?: Iterable<string>;
}

function position(text: string): number {
  const digest = createHash("md5").update(text).digest();
  return digest.readUIntBE(0, 6);
}

/**
 * A consistent hash ring (as tooz's): each node owns `partitionsPerNode × weight` points; a key belongs
 * to the nodes whose points follow the key's hash. Adding or removing a node moves only about
 * `1/N` of the keys.
 *
 * @example
 * ```ts
 * const ring = new HashRing(["a", "b", "c"]);
 * ring.getNodes("instance-42", { replicas: 2 }); // e.g. Set { "b", "a" }
 * ```
 */
export class HashRing {
  private readonly weights = new Map<string, number>();
  private points: { at: number; node: string }[] = [];

  /**
   * @param nodes initial nodes, each with weight 1
   * @param partitionsPerNode points per unit of weight (default 32, as tooz)
   */
  constructor(
    nodes: Iterable<string> = [],
    private readonly partitionsPerNode = 32,
  ) {
    if (!Number.isInteger(partitionsPerNode) || partitionsPerNode < 1 || partitionsPerNode > 4096) {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `partitionsPerNode must be an integer from 1 to 4096, got ${partitionsPerNode}`,
      );
    }
    this.addNodes(nodes);
  }

  /** The nodes on the ring. */
  get nodes(): string[] {
    return [...this.weights.keys()];
  }

  /** Number of nodes. */
  get size(): number {
    return this.weights.size;
  }

  /** Adds (or re-weights) a node. `weight` is a positive integer (default 1). */
  addNode(node: string, weight = 1): void {
    this.checkNode(node);
    if (!Number.isInteger(weight) || weight < 1 || weight > 1000) {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `weight of node ${JSON.stringify(node)} must be an integer from 1 to 1000, got ${weight}`,
      );
    }
    this.weights.set(node, weight);
    this.rebuild();
  }

  /** Adds several nodes with weight 1 (or the weights given in a map). */
  addNodes(nodes: Iterable<string> | Map<string, number>): void {
    const entries = nodes instanceof Map ? [...nodes] : [...nodes].map((n) => [n, 1] as const);
    for (const [node, weight] of entries) {
      this.checkNode(node);
      this.weights.set(node, weight);
    }
    this.rebuild();
  }

  /** Removes a node; `INVALID_ARGUMENT` if it is not on the ring. */
  removeNode(node: string): void {
    if (!this.weights.delete(node)) {
      throw new RollcallError("INVALID_ARGUMENT", `node ${JSON.stringify(node)} is not on the ring`);
    }
    this.rebuild();
  }

  /** Whether the node is on the ring. */
  has(node: string): boolean {
    return this.weights.has(node);
  }

  /**
   * The nodes that own `key`, first owner first. Fewer than `replicas` when the ring has fewer nodes
   * (after `ignore`).
   */
  getNodes(key: string | Uint8Array, options: GetNodesOptions = {}): Set<string> {
    const replicas = options.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1) {
      throw new RollcallError("INVALID_ARGUMENT", `replicas must be a positive integer, got ${replicas}`);
    }
    const ignore = new Set(options.ignore ?? []);
    const result = new Set<string>();
    const wanted = Math.min(replicas, [...this.weights.keys()].filter((n) => !ignore.has(n)).length);
    if (wanted === 0) return result;
    const text = typeof key === "string" ? key : Buffer.from(key).toString("latin1");
    const at = position(text);
    let index = this.search(at);
    for (let seen = 0; seen < this.points.length && result.size < wanted; seen++, index++) {
      const point = this.points[index % this.points.length];
      if (point && !ignore.has(point.node)) result.add(point.node);
    }
    return result;
  }

  private search(at: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.points[mid]?.at ?? 0) < at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private checkNode(node: string): void {
    if (typeof node !== "string" || node === "") {
      throw new RollcallError("INVALID_ARGUMENT", "a ring node must be a non-empty string");
    }
  }

  private rebuild(): void {
    const points: { at: number; node: string }[] = [];
    for (const [node, weight] of this.weights) {
      for (let i = 0; i < this.partitionsPerNode * weight; i++)
        points.push({ at: position(`${node}\u0000${i}`), node });
    }
    points.sort((a, b) => a.at - b.at || (a.node < b.node ? -1 : 1));
    this.points = points;
  }
}
