import { describe, expect, it } from "vitest";
import { RollcallError, validateGroupName, validateMemberId, validateMetadata } from "../src/index.js";

function code(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (error) {
    return RollcallError.isInstance(error) ? error.code : "untyped";
  }
}

describe("validation", () => {
  it("accepts ordinary names and ids", () => {
    for (const name of [
      "compute",
      "compute-17",
      "a",
      "host.example.com",
      "svc:8080",
      "user@host",
      "A_b-C.d",
      "x".repeat(128),
    ]) {
      expect(code(() => validateGroupName(name))).toBe("ok");
      expect(code(() => validateMemberId(name))).toBe("ok");
    }
  });

  it("refuses names that could escape a namespace or break a backend, naming the rule", () => {
    for (const name of [
      "",
      "x".repeat(129),
      "a/b",
      "..",
      ".x",
      "_x",
      "-x",
      "a b",
      "a*",
      "a?",
      "a[",
      "a%",
      "a\u0000",
      "é",
      1,
      null,
      undefined,
    ]) {
      expect(code(() => validateGroupName(name))).toBe("INVALID_ARGUMENT");
    }
    try {
      validateGroupName("a/b");
    } catch (error) {
      expect((error as Error).message).toContain("group name");
      expect((error as Error).message).toContain("letters, digits");
    }
  });

  it("returns a detached copy of valid metadata", () => {
    const input = { a: [1, { b: "c" }], n: null };
    const copy = validateMetadata(input);
    expect(copy).toEqual(input);
    (input.a[1] as { b: string }).b = "changed";
    expect((copy.a as [number, { b: string }])[1].b).toBe("c");
    expect(validateMetadata(undefined)).toEqual({});
  });

  it("refuses metadata that is not a plain JSON object", () => {
    const cases: unknown[] = [
      "s",
      1,
      [],
      null,
      new Map(),
      { d: new Date() },
      { n: Number.NaN },
      { n: -Infinity },
      { b: 1n },
      { u: undefined },
      { f() {} },
      { [Symbol("k")]: 1 },
      JSON.parse('{"__proto__":1}'),
      { constructor: 1 },
      { prototype: 1 },
      { s: "\udc00" },
      { "\ud800": 1 },
    ];
    for (const value of cases) expect(code(() => validateMetadata(value))).toBe("INVALID_ARGUMENT");
  });

  it("measures the size limit in UTF-8 bytes of JSON", () => {
    expect(code(() => validateMetadata({ s: "x".repeat(65_000) }))).toBe("ok");
    expect(code(() => validateMetadata({ s: "x".repeat(65_530) }))).toBe("METADATA_TOO_LARGE");
    expect(code(() => validateMetadata({ s: "é".repeat(40_000) }))).toBe("METADATA_TOO_LARGE");
    expect(code(() => validateMetadata({ s: "x".repeat(100) }, 50))).toBe("METADATA_TOO_LARGE");
  });

  it("refuses nesting deeper than 32 levels", () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 40; i++) {
      const next = {};
      deep.x = next;
      deep = next;
    }
    expect(code(() => validateMetadata(root))).toBe("INVALID_ARGUMENT");
  });
});
