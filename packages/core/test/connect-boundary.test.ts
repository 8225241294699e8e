/**
 * The connection boundary: a driver's `open()` makes one attempt and classifies its failure; core
 * retries transient failures with backoff until `connectTimeout`, fails at once on permanent ones, and
 * reports what the last attempt saw rather than a bare abort.
 */
import { describe, expect, it } from "vitest";
import type { Driver, DriverConfig, SessionListener } from "../src/driver/index.js";
import { openFailure } from "../src/driver/index.js";
import { connect, RollcallError } from "../src/index.js";
import { registerBackend } from "../src/registry.js";
import { TestDriver, TestServer } from "./support/test-driver.js";

/** What each attempt of `open()` does, in order; the last entry repeats. */
type Step = "ok" | "refused" | "credentials" | "configuration" | "hang" | "plain" | "leaky" | "leakyRefused";

const scripts = new Map<string, Step[]>();
const attempts = new Map<string, number>();

class ScriptedDriver extends TestDriver {
  constructor(
    server: TestServer,
    private readonly config: DriverConfig,
  ) {
    super(server, config);
  }

  override async open(listener: SessionListener, signal?: AbortSignal): Promise<void> {
    const script = scripts.get(this.config.memberId) ?? ["ok"];
    const n = attempts.get(this.config.memberId) ?? 0;
    attempts.set(this.config.memberId, n + 1);
    const step = script[Math.min(n, script.length - 1)];
    switch (step) {
      case "refused":
        throw openFailure("unreachable", `connect ECONNREFUSED 127.0.0.1:1 (attempt ${n + 1})`);
      case "credentials":
        throw openFailure("refused", "the server refused the password of user app");
      case "configuration":
        throw openFailure("configuration", "the directory /nonexistent does not exist");
      case "leaky":
      case "leakyRefused": {
        // A client library that echoes what it was given: the password and the token, in the message,
        // the stack and the cause.
        const { password = "" } = this.config.url;
        const token = String(this.config.options?.token);
        const cause = new Error(`auth failed for app:${password} with token ${token}`);
        throw openFailure(
          step === "leaky" ? "unreachable" : "refused",
          `handshake with password=${password}&token=${token} failed`,
          cause,
        );
      }
      case "plain":
        throw new Error(`socket hang up (attempt ${n + 1})`);
      case "hang":
        return new Promise((_, reject) => {
          if (signal?.aborted) reject(signal.reason);
          signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
        });
      default:
        return super.open(listener);
    }
  }
}

const server = new TestServer();
registerBackend({
  name: "scripted",
  schemes: ["scripted"],
  defaultSessionTimeout: 1000,
  params: { token: { type: "string", secret: true } },
  create: (config: DriverConfig): Driver => new ScriptedDriver(server, config),
});

let n = 0;
function member(script: Step[]): string {
  const id = `b${++n}`;
  scripts.set(id, script);
  return id;
}

async function failure(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await promise.then(
    () => {
      throw new Error("expected connect() to fail, but it connected");
    },
    (e: unknown) => e,
  );
  return { error, ms: performance.now() - started };
}

describe("connection boundary", () => {
  it("retries transient failures until an attempt connects", async () => {
    const id = member(["refused", "plain", "refused", "ok"]);
    const coord = await connect("scripted://x?connectTimeout=10000", { memberId: id });
    expect(attempts.get(id)).toBe(4);
    expect(coord.state).toBe("connected");
    await coord.close();
  });

  it("fails at once on refused credentials, with CONNECTION and the driver's reason", async () => {
    const id = member(["credentials"]);
    const { error, ms } = await failure(connect("scripted://x?connectTimeout=10000", { memberId: id }));
    expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
    expect((error as Error).message).toContain("refused the password of user app");
    expect(attempts.get(id)).toBe(1);
    expect(ms).toBeLessThan(5000);
  });

  it("fails at once on bad configuration, with INVALID_ARGUMENT", async () => {
    const id = member(["refused", "configuration"]);
    const { error } = await failure(connect("scripted://x?connectTimeout=10000", { memberId: id }));
    expect(RollcallError.hasCode(error, "INVALID_ARGUMENT")).toBe(true);
    expect((error as Error).message).toContain("/nonexistent does not exist");
    expect(attempts.get(id)).toBe(2);
  });

  it("at connectTimeout, names what the last attempt saw", async () => {
    const id = member(["refused"]);
    const { error } = await failure(connect("scripted://x?connectTimeout=700", { memberId: id }));
    expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain("scripted://x?connectTimeout=700");
    expect(message).toContain("connectTimeout=700 ms");
    expect(message).toMatch(/the last attempt: connect ECONNREFUSED 127\.0\.0\.1:1 \(attempt \d+\)/);
    // Backoff from 100 ms doubling: several attempts fit in 700 ms, not hundreds.
    expect(attempts.get(id)).toBeGreaterThanOrEqual(2);
    expect(attempts.get(id)).toBeLessThan(10);
  });

  it("an attempt cut short by the deadline does not hide the failure before it", async () => {
    const id = member(["refused", "hang"]);
    const { error } = await failure(connect("scripted://x?connectTimeout=500", { memberId: id }));
    expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
    expect((error as Error).message).toContain(
      "the last attempt: connect ECONNREFUSED 127.0.0.1:1 (attempt 1)",
    );
  });

  it("a server that never answers is said so", async () => {
    const id = member(["hang"]);
    const { error } = await failure(connect("scripted://x?connectTimeout=300", { memberId: id }));
    expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
    expect((error as Error).message).toContain(
      "no session within connectTimeout=300 ms; the server did not answer",
    );
  });

  it("the caller's deadline (a TimeoutError) rejects with CONNECTION and the last attempt", async () => {
    const id = member(["refused"]);
    const { error } = await failure(
      connect("scripted://x?connectTimeout=10000", { memberId: id, signal: AbortSignal.timeout(400) }),
    );
    expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
    expect((error as Error).message).toContain("before the caller's deadline");
    expect((error as Error).message).toContain("ECONNREFUSED");
  });

  it("the caller's cancellation rejects with its own reason", async () => {
    const id = member(["refused"]);
    const controller = new AbortController();
    const reason = new Error("shutting down");
    setTimeout(() => controller.abort(reason), 250);
    const { error } = await failure(
      connect("scripted://x?connectTimeout=10000", { memberId: id, signal: controller.signal }),
    );
    expect(error).toBe(reason);
  });

  describe("secrets never leave through a failure to connect", () => {
    const password = "s3cr3t-pw/x";
    const token = "tok-9f8e7d";
    const url = (timeout: number) =>
      `scripted://app:${encodeURIComponent(password)}@x?connectTimeout=${timeout}&token=${token}`;

    /** Every text a failure carries: message and stack of the error and of each cause. */
    function texts(error: unknown): string[] {
      const out: string[] = [];
      for (let e: unknown = error; e instanceof Error; e = e.cause) out.push(e.message, e.stack ?? "");
      return out;
    }

    it("a permanent failure: scrubbed from the message, the stack and the cause", async () => {
      const id = member(["leakyRefused"]);
      const { error } = await failure(connect(url(10_000), { memberId: id }));
      expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
      expect((error as Error).message).toContain("handshake with password=***&token=*** failed");
      expect(texts(error).length).toBeGreaterThanOrEqual(4);
      for (const text of texts(error)) {
        expect(text).not.toContain(password);
        expect(text).not.toContain(encodeURIComponent(password));
        expect(text).not.toContain(token);
      }
    });

    it("transient failures until connectTimeout: the error names the last attempt, scrubbed; so do the logs", async () => {
      const id = member(["leaky"]);
      const logged: string[] = [];
      const record = (message: string, fields?: Record<string, unknown>) =>
        logged.push(`${message} ${JSON.stringify(fields ?? {})}`);
      const logger = { debug: record, info: record, warn: record, error: record };
      const { error } = await failure(connect(url(500), { memberId: id, logger }));
      expect(RollcallError.hasCode(error, "CONNECTION")).toBe(true);
      expect((error as Error).message).toContain(
        "the last attempt: handshake with password=***&token=*** failed",
      );
      expect(attempts.get(id)).toBeGreaterThanOrEqual(2);
      expect(logged.some((line) => line.includes("retrying"))).toBe(true);
      for (const text of [...texts(error), ...logged]) {
        expect(text).not.toContain(password);
        expect(text).not.toContain(token);
      }
    });
  });
});
