import { type Coordinator, connect, RollcallError } from "@rollcall/core";
import { describe, expect, it } from "vitest";
import { type Harness, randomId } from "../harness.js";

/**
 * Names that try to leave the namespace or break a backend's syntax: path traversal and separators,
 * `%`-escapes, NUL, SQL and Lua fragments, Redis glob and hash-tag characters. All must be refused.
 */
export const ESCAPING_NAMES: string[] = [
  "..",
  "../x",
  "x/../y",
  "a/b",
  "/",
  "/a",
  "a/",
  "\\",
  "a\\b",
  "*",
  "a*",
  "%",
  "a%",
  "a%2Fb",
  "%2e%2e",
  "\u0000",
  "a\u0000b",
  "'; DROP TABLE x;--",
  "a'--",
  'a"b',
  "a;b",
  "]]..redis.call('flushall')..[[",
  "a?",
  "[ab]",
  "a[b]",
  "{x}",
  "a{x}b",
  "a^b",
  "a|b",
  "a$b",
  "a b",
  "a\tb",
  "a\r\nb",
  "_lock.x",
  "_election.x",
  "-x",
  ".x",
];

/**
 * Names the validator accepts although they look like separators or traversal to some backend; they
 * must stay inside the namespace they were created in.
 */
export const TRICKY_VALID_NAMES: string[] = [
  "a.b",
  "a:b",
  "a@b",
  "x..y",
  "a...",
  "a-",
  "a:",
  "a@",
  "0.0.0.0:1",
];

async function codeOf(attempt: () => unknown): Promise<string> {
  try {
    await attempt();
    return "resolved";
  } catch (error) {
    return RollcallError.isInstance(error) ? error.code : `untyped: ${String(error)}`;
  }
}

async function state(coord: Coordinator, elections: string[] = []): Promise<string> {
  const groups = (await coord.groups()).sort();
  const parts = await Promise.all(
    groups.map(
      async (g) =>
        `${g}=[${(await coord.members(g)).map((m) => `${m.id}:${JSON.stringify(m.metadata)}`).sort()}]`,
    ),
  );
  for (const name of elections) parts.push(`leader(${name})=${(await coord.leader(name))?.id ?? "none"}`);
  return parts.join(";");
}

/**
 * Namespace escape: hostile names used as group names, member ids, election and lock names are refused
 * with `INVALID_ARGUMENT` and change nothing in this namespace or a neighbouring one; names the validator
 * accepts (`a.b`, `a:b`, `x..y`…) stay inside the namespace they were created in; a namespace nested in
 * another (`<ns>/g`, where `g` is a group of `<ns>`) or around one is refused or kept apart from it.
 */
export function escapeSuite(h: Harness): void {
  describe("namespace escape", () => {
    it("escaping names are refused as group, member, election and lock names; no namespace changes", async () => {
      const home = randomId("ns");
      const neighbour = `${home}.b`;
      const a = await h.coordinator(randomId("a"), { namespace: home });
      const b = await h.coordinator(randomId("b"), { namespace: neighbour });
      await a.join("base", { createGroup: true, metadata: { ns: "home" } });
      await b.join("base", { createGroup: true, metadata: { ns: "neighbour" } });
      await b.createGroup("x");
      const held = await b.election("e").campaign();
      const before = [await state(a, ["e", "x"]), await state(b, ["e", "x"])];
      try {
        for (const name of ESCAPING_NAMES) {
          const attempts: [string, () => unknown][] = [
            ["createGroup", () => a.createGroup(name)],
            ["join", () => a.join(name, { createGroup: true })],
            ["members", () => a.members(name)],
            ["deleteGroup", () => a.deleteGroup(name)],
            ["member id", () => a.member("base", name)],
            ["connect as", () => connect(h.url({ namespace: home }), { memberId: name })],
            ["election", () => a.election(name).campaign()],
            ["leader", () => a.leader(name)],
            ["lock", () => a.lock(name).tryAcquire()],
          ];
          for (const [what, attempt] of attempts) {
            expect(`${what} ${JSON.stringify(name)} → ${await codeOf(attempt)}`).toBe(
              `${what} ${JSON.stringify(name)} → INVALID_ARGUMENT`,
            );
          }
        }
        expect([await state(a, ["e", "x"]), await state(b, ["e", "x"])]).toEqual(before);
      } finally {
        await held.resign();
      }
    });

    it("a namespace inside another (`<ns>/g`) or around one is refused, or kept apart from it", async () => {
      /** A coordinator in `namespace`, or undefined when the backend refuses the nesting (INVALID_ARGUMENT). */
      const open = async (namespace: string): Promise<Coordinator | undefined> => {
        try {
          return await h.coordinator(randomId("c"), { namespace });
        } catch (error) {
          if (RollcallError.hasCode(error, "INVALID_ARGUMENT")) return undefined;
          throw error;
        }
      };
      // Inside: the parent exists first and has a group named like the nested namespace's last segment.
      const top = randomId("ns");
      const a = await h.coordinator(randomId("a"), { namespace: top });
      await a.join("g", { createGroup: true, metadata: { ns: "top" } });
      const before = await state(a);
      const inner = await open(`${top}/g`);
      if (inner) {
        expect(await inner.groups()).toEqual([]);
        await inner.join("x", { createGroup: true });
        expect(await inner.groups()).toEqual(["x"]);
      }
      expect(await state(a)).toBe(before);
      // Around: the nested namespace exists first, then its parent is opened.
      const outer = randomId("ns");
      const c = await h.coordinator(randomId("c"), { namespace: `${outer}/inner` });
      await c.join("y", { createGroup: true });
      const nestedBefore = await state(c);
      const around = await open(outer);
      if (around) {
        expect(await around.groups()).toEqual([]);
        await around.join("z", { createGroup: true });
        expect(await around.groups()).toEqual(["z"]);
      }
      expect(await state(c)).toBe(nestedBefore);
    });

    it("accepted names with separators and dots stay inside their namespace", async () => {
      const home = randomId("ns");
      const neighbours = [`${home}.b`, `${home}-b`, `${home}_b`, `${home}.`, `${home}..b`];
      const watchers: Coordinator[] = [];
      for (const ns of neighbours) {
        const w = await h.coordinator(randomId("w"), { namespace: ns });
        await w.join("base", { createGroup: true });
        watchers.push(w);
      }
      const baseline = await Promise.all(watchers.map((w) => state(w, TRICKY_VALID_NAMES)));
      const a = await h.coordinator(randomId("a"), { namespace: home });
      const leaderships = [];
      for (const name of TRICKY_VALID_NAMES) {
        await a.join(name, { createGroup: true, metadata: { name } });
        leaderships.push(await a.election(name).campaign());
        const lock = await a.lock(name).tryAcquire();
        if (lock) leaderships.push(lock);
        const member = await h.coordinator(name, { namespace: home });
        await member.join("b", { createGroup: true });
      }
      expect((await a.groups()).sort()).toEqual([...TRICKY_VALID_NAMES, "b"].sort());
      expect((await a.members("b")).map((m) => m.id).sort()).toEqual([...TRICKY_VALID_NAMES].sort());
      for (const name of TRICKY_VALID_NAMES) {
        expect((await a.members(name)).map((m) => `${m.id}:${JSON.stringify(m.metadata)}`)).toEqual([
          `${a.memberId}:${JSON.stringify({ name })}`,
        ]);
        expect((await a.leader(name))?.id).toBe(a.memberId);
      }
      expect(await Promise.all(watchers.map((w) => state(w, TRICKY_VALID_NAMES)))).toEqual(baseline);
      await Promise.all(leaderships.map((l) => l.resign()));
    });
  });
}
