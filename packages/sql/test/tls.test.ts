import { connect, RollcallError } from "@rollcall/core";
import { type PostgresServer, startPostgres } from "@rollcall/servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import "@rollcall/sql";

// PostgreSQL that only accepts TLS: ca= verifies it with the test CA; without it the server's certificate
// (signed by a CA the system does not trust) is refused, and ssl=insecure connects without verifying.
let server: PostgresServer;
let host: string;
let caFile: string;
const password = "tls-s3cret-pw";

beforeAll(async () => {
  server = await startPostgres({ password, tls: true });
  host = `127.0.0.1:${server.nodes[0]?.port}`;
  caFile = server.certificates?.caFile ?? "";
}, 120_000);
afterAll(() => server?.close());

function url(query: string): string {
  return `postgresql://postgres:${password}@${host}/postgres?namespace=tls&sessionTimeout=2000&connectTimeout=2000${query}`;
}

describe("postgresql over TLS", () => {
  it("ca= verifies the server: join and read back", async () => {
    const coord = await connect(url(`&ca=${encodeURIComponent(caFile)}`), { memberId: "a" });
    await coord.join("g", { createGroup: true });
    expect((await coord.members("g")).map((m) => m.id)).toEqual(["a"]);
    await coord.close();
  });

  it("ssl=true without ca= refuses the unknown CA: a CONNECTION error naming the host", async () => {
    const error = await connect(url("&ssl=true"), { memberId: "b" }).catch((e: unknown) => e);
    expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
    expect((error as Error).message).toContain(host);
    expect((error as Error).message).toMatch(/certificate/i);
    expect(String(error)).not.toContain(password);
  });

  it("ssl=insecure connects without verifying; ca= with ssl=insecure is refused", async () => {
    const coord = await connect(url("&ssl=insecure"), { memberId: "c" });
    await coord.close();
    const error = await connect(url(`&ssl=insecure&ca=${encodeURIComponent(caFile)}`), {
      memberId: "d",
    }).catch((e: unknown) => e);
    expect(RollcallError.hasCode(error, "INVALID_ARGUMENT")).toBe(true);
  });
});
