import { connect, RollcallError } from "@rollcall/core";
import { describe, expect, it } from "vitest";
import "@rollcall/etcd";

// Every URL here is refused before any I/O, so nothing listens on port 1.
async function refusal(url: string): Promise<RollcallError> {
  const error = await connect(url, { memberId: "m1" }).then(
    () => {
      throw new Error(`connect(${url}) did not reject`);
    },
    (e: unknown) => e,
  );
  expect(RollcallError.isInstance(error)).toBe(true);
  return error as RollcallError;
}

describe("etcd URL options", () => {
  it.each([
    ["1500", "2000"],
    ["2500", "2000 or 3000"],
    ["1000", "2000"],
    ["100", "2000"],
  ])(
    "sessionTimeout=%s is refused with INVALID_ARGUMENT naming whole seconds ≥ 2000 (%s)",
    async (value, hint) => {
      const error = await refusal(`etcd://127.0.0.1:1/ns?sessionTimeout=${value}`);
      expect(error.code).toBe("INVALID_ARGUMENT");
      expect(error.message).toContain("whole seconds");
      expect(error.message).toContain(`e.g. ${hint}`);
    },
  );

  it("TLS options on etcd:// are refused: they need etcds://", async () => {
    const error = await refusal("etcd://127.0.0.1:1/ns?ca=/tmp/ca.pem");
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.message).toContain("etcds://");
  });

  it("a client certificate without its key is refused", async () => {
    const error = await refusal("etcds://127.0.0.1:1/ns?cert=/tmp/c.pem");
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.message).toContain("cert= and key=");
  });

  it("an unreadable CA file is refused with INVALID_ARGUMENT naming the file", async () => {
    const error = await refusal("etcds://127.0.0.1:1/ns?ca=/nonexistent/ca.pem&connectTimeout=1000");
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.message).toContain("/nonexistent/ca.pem");
  });

  it("electionTimeout must be a whole number of ms", async () => {
    const error = await refusal("etcd://127.0.0.1:1/ns?electionTimeout=soon");
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.message).toContain("electionTimeout");
  });

  it("unknown options are refused; the password never shows", async () => {
    const error = await refusal("etcd://root:s3cret@127.0.0.1:1/ns?tls=1");
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.message).toContain("ca, cert, key, electionTimeout");
    expect(String(error)).not.toContain("s3cret");
  });

  it("an unreachable cluster is a CONNECTION error naming the hosts, not the password", async () => {
    const error = await refusal("etcd://root:s3cret@127.0.0.1:1,127.0.0.1:2/ns?connectTimeout=1000");
    expect(error.code).toBe("CONNECTION");
    expect(error.message).toContain("127.0.0.1:1,127.0.0.1:2");
    expect(`${error.message} ${String(error.cause)}`).not.toContain("s3cret");
  });
});
