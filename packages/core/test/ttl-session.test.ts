import { performance } from "node:perf_hooks";
import { afterEach, describe, expect, it } from "vitest";
import { type Renewal, TtlSession, type TtlSessionOptions } from "../src/driver/index.js";
import type { Logger } from "../src/types.js";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

type Report = { kind: "state"; state: string; at: number } | { kind: "renewed"; sentAt: number; at: number };

/** A keeper whose renewals are answered by `answer` (the server), with every report recorded. */
function keeper(ttl: number, answer: TtlSessionOptions["renew"], extra: Partial<TtlSessionOptions> = {}) {
  const reports: Report[] = [];
  const session = new TtlSession({
    ttl,
    renew: answer,
    logger: quiet,
    openedAt: performance.now(),
    listener: {
      state: (state) => reports.push({ kind: "state", state, at: performance.now() }),
      renewed: (sentAt) => reports.push({ kind: "renewed", sentAt, at: performance.now() }),
    },
    ...extra,
  });
  sessions.push(session);
  return { session, reports };
}

const sessions: TtlSession[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.stop();
});

async function until(check: () => boolean, what: string, timeout = 5000): Promise<void> {
  const deadline = performance.now() + timeout;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const alive = (): Promise<Renewal> => Promise.resolve({ alive: true });
const never = (signal: AbortSignal): Promise<Renewal> =>
  new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));

describe("TtlSession", () => {
  it("renews and reports renewed(sentAt) with the time the renewal left", async () => {
    const sent: number[] = [];
    const { reports } = keeper(900, () => {
      sent.push(performance.now());
      return alive();
    });
    await until(() => reports.filter((r) => r.kind === "renewed").length >= 3, "three renewals");
    const renewed = reports.filter((r) => r.kind === "renewed");
    // Each sentAt is taken when that renewal started: before the request, after the one before it.
    renewed.forEach((r, i) => {
      const sentAt = r.kind === "renewed" ? r.sentAt : Number.NaN;
      expect(sentAt).toBeLessThanOrEqual(sent[i] ?? Number.NaN);
      expect(sentAt).toBeGreaterThan(sent[i - 1] ?? 0);
    });
    expect(reports.filter((r) => r.kind === "state")).toEqual([]);
  });

  it("an unanswered renewal: suspended, then expired once nothing was acknowledged for the TTL", async () => {
    const started = performance.now();
    const { session, reports } = keeper(400, never);
    await until(() => reports.some((r) => r.kind === "state" && r.state === "expired"), "expired");
    const states = reports.filter((r) => r.kind === "state");
    expect(states.map((r) => (r.kind === "state" ? r.state : ""))).toEqual(["suspended", "expired"]);
    // Timers never fire early: expiry is never before the TTL has passed since the last acknowledgement.
    expect((states[1]?.at ?? 0) - started).toBeGreaterThanOrEqual(400);
    expect(session.live).toBe(false);
  });

  it("expireAfter: a silent session is given that long rather than the TTL", async () => {
    const started = performance.now();
    const { reports } = keeper(300, never, { expireAfter: 900 });
    await until(() => reports.some((r) => r.kind === "state" && r.state === "suspended"), "suspended");
    await until(() => reports.some((r) => r.kind === "state" && r.state === "expired"), "expired");
    const expired = reports.find((r) => r.kind === "state" && r.state === "expired");
    expect((expired?.at ?? 0) - started).toBeGreaterThanOrEqual(900);
  });

  it("the server says the session is gone: expired once, with no renewal after it", async () => {
    let calls = 0;
    const { session, reports } = keeper(900, () => {
      calls++;
      return Promise.resolve(calls < 2 ? { alive: true } : { alive: false, reason: "lease not found" });
    });
    await until(() => reports.some((r) => r.kind === "state" && r.state === "expired"), "expired");
    const seen = calls;
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(seen);
    expect(reports.filter((r) => r.kind === "state").length).toBe(1);
    expect(session.live).toBe(false);
  });

  it("a failed renewal suspends; the next acknowledged one reconnects", async () => {
    let calls = 0;
    const { reports } = keeper(1500, () => {
      calls++;
      return calls === 2 ? Promise.reject(new Error("connection reset")) : alive();
    });
    await until(() => reports.some((r) => r.kind === "state" && r.state === "connected"), "connected again");
    const states = reports.filter((r) => r.kind === "state").map((r) => (r.kind === "state" ? r.state : ""));
    expect(states).toEqual(["suspended", "connected"]);
  });

  it("stop() aborts the renewal in flight with NOT_CONNECTED and reports nothing", async () => {
    let reason: unknown;
    const stopped = { session: undefined as TtlSession | undefined };
    const { session, reports } = keeper(900, (signal) => {
      signal.addEventListener("abort", () => {
        reason = signal.reason;
      });
      queueMicrotask(() => stopped.session?.stop());
      return never(signal);
    });
    stopped.session = session;
    await until(() => reason !== undefined, "the renewal aborted");
    expect(reason).toMatchObject({ code: "NOT_CONNECTED" });
    expect(session.live).toBe(false);
    await new Promise((r) => setTimeout(r, 400));
    expect(reports).toEqual([]);
  });

  it("abandonOverdue: an overdue renewal is aborted with TIMEOUT and the next one starts before the TTL runs out", async () => {
    const reasons: unknown[] = [];
    const started: number[] = [];
    const { reports } = keeper(
      1200,
      (signal) => {
        started.push(performance.now());
        signal.addEventListener("abort", () => reasons.push(signal.reason), { once: true });
        return never(signal);
      },
      { abandonOverdue: true },
    );
    await until(() => started.length >= 2, "a second renewal");
    expect(reasons[0]).toMatchObject({ code: "TIMEOUT" });
    expect(reports.some((r) => r.kind === "state" && r.state === "suspended")).toBe(true);
    // Without the option the keeper waits for the first renewal until the TTL: a second never starts.
    const plain = keeper(1200, (signal) => {
      started.push(-1);
      return never(signal);
    });
    await until(() => plain.reports.some((r) => r.kind === "state" && r.state === "expired"), "expired");
    expect(started.filter((t) => t === -1)).toHaveLength(1);
  });
});
