import { describe, expect, it } from "vitest";
import { type GroupView, HashRing, type Member, type MembershipEvent, Partitioner } from "../src/index.js";

describe("HashRing", () => {
  it("is deterministic and spreads keys over every node", () => {
    const ring = new HashRing(["a", "b", "c"]);
    const again = new HashRing(["c", "b", "a"]);
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const [node] = ring.getNodes(`key-${i}`);
      expect([...again.getNodes(`key-${i}`)][0]).toBe(node);
      counts.set(node as string, (counts.get(node as string) ?? 0) + 1);
    }
    for (const node of ["a", "b", "c"]) expect(counts.get(node) ?? 0).toBeGreaterThan(500);
  });

  it("moves only the removed node's keys when a node leaves", () => {
    const ring = new HashRing(["a", "b", "c", "d"]);
    const before = Array.from({ length: 2000 }, (_, i) => [...ring.getNodes(`k${i}`)][0]);
    ring.removeNode("d");
    const after = Array.from({ length: 2000 }, (_, i) => [...ring.getNodes(`k${i}`)][0]);
    for (let i = 0; i < before.length; i++) if (before[i] !== "d") expect(after[i]).toBe(before[i]);
  });

  it("returns distinct replicas, honours ignore, and weights", () => {
    const ring = new HashRing();
    ring.addNode("big", 4);
    ring.addNode("small", 1);
    expect(ring.getNodes("x", { replicas: 5 }).size).toBe(2);
    expect([...ring.getNodes("x", { ignore: ["big"] })]).toEqual(["small"]);
    let big = 0;
    for (let i = 0; i < 2000; i++) if (ring.getNodes(`k${i}`).has("big")) big++;
    expect(big).toBeGreaterThan(1200);
    expect(new HashRing().getNodes("x").size).toBe(0);
    expect(() => ring.removeNode("nope")).toThrow(/not on the ring/);
    expect(() => ring.getNodes("x", { replicas: 0 })).toThrow(/replicas/);
  });
});

class StaticView implements GroupView {
  group = "g";
  private listeners: ((e: MembershipEvent) => void)[] = [];
  constructor(public list: Member[]) {}
  get size() {
    return this.list.length;
  }
  members() {
    return this.list;
  }
  has(id: string) {
    return this.list.some((m) => m.id === id);
  }
  isUp(id: string) {
    return this.has(id);
  }
  get(id: string) {
    return this.list.find((m) => m.id === id);
  }
  on(_: "change", l: (e: MembershipEvent) => void) {
    this.listeners.push(l);
    return this;
  }
  off() {
    return this;
  }
  change(e: MembershipEvent) {
    for (const l of this.listeners) l(e);
  }
  async close() {}
  async [Symbol.asyncDispose]() {}
}

const member = (id: string, metadata = {}): Member => ({
  id,
  group: "g",
  metadata,
  seq: 1n,
  joinedAt: new Date(),
  updatedAt: new Date(),
});

describe("Partitioner", () => {
  it("assigns every key to exactly one live member and rebalances on change", () => {
    const view = new StaticView([member("a"), member("b")]);
    const pa = new Partitioner(view, { self: "a" });
    const pb = new Partitioner(view, { self: "b" });
    let rebalances = 0;
    pa.on("rebalance", () => rebalances++);
    for (let i = 0; i < 200; i++) expect(pa.belongsToSelf(`k${i}`) !== pb.belongsToSelf(`k${i}`)).toBe(true);
    view.list = [member("a")];
    view.change({ type: "leave", group: "g", memberId: "b", reason: "expired" });
    expect(rebalances).toBe(1);
    for (let i = 0; i < 200; i++) expect(pa.belongsToSelf(`k${i}`)).toBe(true);
    expect(pa.membersFor("x", { replicas: 3 })).toEqual(["a"]);
  });
});
