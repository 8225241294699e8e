import { type Coordinator, connect, type ErrorCode, RollcallError } from "@rollcall/core";
import { describe, expect, it } from "vitest";
import { type Harness, randomId } from "../harness.js";
import { escapeSuite } from "./escape.js";

/** Names that must be refused everywhere: empty, too long, path and glob characters, control characters, reserved. */
export const BAD_NAMES: unknown[] = [
  "",
  "x".repeat(129),
  "a/b",
  "..",
  ".hidden",
  "../escape",
  "*",
  "a*b",
  "a?b",
  "[a]",
  "a b",
  "a%2Fb",
  "a\u0000b",
  "a\nb",
  "'; DROP TABLE members; --",
  "redis.call('FLUSHALL')",
  "_election.x",
  "ünïcode",
  42,
  null,
  undefined,
  {},
];

async function codeOf(attempt: () => unknown): Promise<ErrorCode | string> {
  try {
    await attempt();
    return "resolved";
  } catch (error) {
    return RollcallError.isInstance(error) ? error.code : `untyped: ${String(error)}`;
  }
}

function cyclic(): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  value.self = value;
  return value;
}

/**
 * Bad input: every public method refuses it with a typed error, and nothing is written; hostile names
 * cannot reach outside the namespace (see {@link escapeSuite}).
 */
export function inputSuite(h: Harness): void {
  describe("bad input", () => {
    async function state(coord: Coordinator): Promise<string> {
      const groups = await coord.groups();
      const members = await Promise.all(
        groups.map(
          async (g) =>
            `${g}:${(await coord.members(g)).map((m) => `${m.id}=${JSON.stringify(m.metadata)}`).join(",")}`,
        ),
      );
      return JSON.stringify(members);
    }

    it("bad group names and member ids are refused with INVALID_ARGUMENT by every method", async () => {
      const coord = await h.coordinator();
      await coord.join("compute", { createGroup: true, metadata: { ok: true } });
      const before = await state(coord);
      for (const name of BAD_NAMES) {
        const bad = name as string;
        const attempts: [string, () => unknown][] = [
          ["createGroup", () => coord.createGroup(bad)],
          ["deleteGroup", () => coord.deleteGroup(bad)],
          ["join", () => coord.join(bad, { createGroup: true })],
          ["leave", () => coord.leave(bad)],
          ["members", () => coord.members(bad)],
          ["member(group)", () => coord.member(bad, "x")],
          ["member(id)", () => coord.member("compute", bad)],
          ["updateMetadata", () => coord.updateMetadata(bad, {})],
          ["view", () => coord.view(bad)],
          ["watch", () => coord.watch(bad)[Symbol.asyncIterator]().next()],
          ["election", () => coord.election(bad).campaign()],
          ["leader", () => coord.leader(bad)],
          ["lock", () => coord.lock(bad).acquire()],
          ["connect", () => connect(h.url(), { memberId: bad })],
        ];
        for (const [what, attempt] of attempts) {
          expect(`${what}(${JSON.stringify(name)}) → ${await codeOf(attempt)}`).toBe(
            `${what}(${JSON.stringify(name)}) → INVALID_ARGUMENT`,
          );
        }
      }
      expect(await state(coord)).toBe(before);
    });

    it("bad metadata is refused with INVALID_ARGUMENT or METADATA_TOO_LARGE, and nothing changes", async () => {
      const coord = await h.coordinator();
      const other = await h.coordinator();
      await coord.join("compute", { createGroup: true, metadata: { ok: true } });
      await other.createGroup("empty");
      const before = await state(coord);
      const deep: Record<string, unknown> = {};
      let cursor = deep;
      for (let i = 0; i < 100; i++) {
        const next: Record<string, unknown> = {};
        cursor.d = next;
        cursor = next;
      }
      const cases: [unknown, ErrorCode][] = [
        [{ blob: "x".repeat(70_000) }, "METADATA_TOO_LARGE"],
        ["a string", "INVALID_ARGUMENT"],
        [[1, 2], "INVALID_ARGUMENT"],
        [null, "INVALID_ARGUMENT"],
        [{ n: Number.NaN }, "INVALID_ARGUMENT"],
        [{ n: Number.POSITIVE_INFINITY }, "INVALID_ARGUMENT"],
        [{ n: 10n }, "INVALID_ARGUMENT"],
        [{ f: () => 1 }, "INVALID_ARGUMENT"],
        [{ u: undefined }, "INVALID_ARGUMENT"],
        [{ d: new Date() }, "INVALID_ARGUMENT"],
        [{ s: Symbol("x") }, "INVALID_ARGUMENT"],
        [JSON.parse('{"__proto__": {"polluted": true}}'), "INVALID_ARGUMENT"],
        [{ constructor: { prototype: { polluted: true } } }, "INVALID_ARGUMENT"],
        [{ bad: "\ud800" }, "INVALID_ARGUMENT"],
        [cyclic(), "INVALID_ARGUMENT"],
        [deep, "INVALID_ARGUMENT"],
      ];
      for (const [metadata, code] of cases) {
        const m = metadata as Record<string, never>;
        expect(await codeOf(() => coord.updateMetadata("compute", m))).toBe(code);
        expect(await codeOf(() => other.join("empty", { metadata: m }))).toBe(code);
        expect(await codeOf(() => other.election("e", { metadata: m }))).toBe(code);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(await state(coord)).toBe(before);
    });

    it("bad URLs and options are refused with a typed error that names the problem", async () => {
      const base = h.url();
      const scheme = base.slice(0, base.indexOf(":"));
      const cases: [string, ErrorCode][] = [
        ["not a url", "INVALID_ARGUMENT"],
        ["nosuchscheme://127.0.0.1:1/x", "UNKNOWN_SCHEME"],
        [`${base}&sessionTimeout=abc`, "INVALID_ARGUMENT"],
        [`${base}&bogusOption=1`, "INVALID_ARGUMENT"],
        [`${base.replace(/sessionTimeout=\d+/, "sessionTimeout=-5")}`, "INVALID_ARGUMENT"],
        [`${scheme}://127.0.0.1:99999/x`, "INVALID_ARGUMENT"],
      ];
      for (const [url, code] of cases) {
        const error = await connect(url, { memberId: randomId("m") }).catch((e: unknown) => e);
        expect(`${url} → ${RollcallError.isInstance(error) ? error.code : String(error)}`).toBe(
          `${url} → ${code}`,
        );
        expect((error as Error).message.length).toBeGreaterThan(10);
      }
      const noOptions = await codeOf(() => connect(base, undefined as never));
      expect(noOptions).toBe("INVALID_ARGUMENT");
    });

    it("bad option values of elections, locks and watches are refused with INVALID_ARGUMENT", async () => {
      const coord = await h.coordinator();
      expect(await codeOf(() => coord.election("e", { seats: 0 }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(() => coord.election("e", { seats: 1.5 }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(() => coord.lock("l").acquire({ timeout: -1 }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(() => coord.watch("g", { signal: "nope" as never }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(() => coord.join("g", "nope" as never))).toBe("INVALID_ARGUMENT");
      expect(await coord.groups()).toEqual([]);
    });

    it("credentials in the URL never appear in errors, toString() or inspect()", async () => {
      const secret = "s3cr3t-P4ss";
      const base = h.url();
      const withCreds = base.replace("://", `://user:${secret}@`);
      const error = await connect(`${withCreds}&bogusOption=1`, { memberId: randomId("m") }).catch(
        (e: unknown) => e,
      );
      expect(String(error)).not.toContain(secret);
      expect(JSON.stringify(error)).not.toContain(secret);
      const coord = await h.coordinator();
      expect(String(coord)).not.toContain(secret);
    });
  });
  escapeSuite(h);
}
