import { describe, expect, it } from "vitest";
import { ErrorCodes, RollcallError, unmetCharacteristics } from "../src/index.js";

describe("RollcallError", () => {
  it("carries a stable code, group and member, and is recognised across copies", () => {
    const error = new RollcallError("GROUP_NOT_FOUND", "no group g", {
      group: "g",
      memberId: "m",
      cause: new Error("x"),
    });
    expect(error.code).toBe("GROUP_NOT_FOUND");
    expect(error.group).toBe("g");
    expect(error.memberId).toBe("m");
    expect(error).toBeInstanceOf(Error);
    expect(RollcallError.isInstance(error)).toBe(true);
    const foreign = Object.assign(new Error("other copy"), {
      [Symbol.for("rollcall.error")]: true,
      code: "TIMEOUT",
    });
    expect(RollcallError.isInstance(foreign)).toBe(true);
    expect(RollcallError.isInstance(new Error("plain"))).toBe(false);
    expect(RollcallError.isInstance(null)).toBe(false);
    expect(ErrorCodes).toContain("METADATA_TOO_LARGE");
  });
});

describe("characteristics", () => {
  const zk = {
    scope: "cluster",
    liveness: "session",
    watch: "push",
    leaveReason: false,
    consistency: "sequential",
    config: "durable",
  } as const;
  it("meets weaker requirements and names unmet ones", () => {
    expect(unmetCharacteristics(zk, { scope: "host", watch: "poll", consistency: "serializable" })).toEqual(
      [],
    );
    expect(
      unmetCharacteristics(zk, { leaveReason: true, consistency: "linearizable", liveness: "ttl" }).sort(),
    ).toEqual(["consistency", "leaveReason", "liveness"]);
    expect(unmetCharacteristics(zk, { config: "volatile" })).toEqual([]);
    expect(unmetCharacteristics({ ...zk, config: "none" }, { config: "volatile" })).toEqual(["config"]);
  });
});
