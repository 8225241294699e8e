import type { Coordinator, LeadershipChange, SessionState } from "@rollcall/core";
import { RollcallError } from "@rollcall/core";

/** The answer of a probe: an HTTP status and a one-line text body (never a credential). */
export interface ProbeResult {
  /** 200 when the probe passes, 503 when it does not. */
  readonly status: 200 | 503;
  /** A short line saying why, e.g. `not ready: session suspended`. */
  readonly body: string;
}

/** Which seat the leader probe asks about; with neither, any election seat counts. */
export interface LeaderQuery {
  /** An election name: passes while this process holds one of its seats. */
  election?: string;
  /** A lock name: passes while this process holds the lock. */
  lock?: string;
}

/**
 * Health probes of one coordinator, answered from memory (no I/O, so a probe never waits on the
 * backend): liveness, readiness and leadership. Dispose to stop following the coordinator.
 */
export interface HealthProbes extends Disposable {
  /** Liveness (`/healthz`): 200 while the process can answer at all. */
  healthz(): ProbeResult;
  /** Readiness (`/readyz`): 200 while the session is `connected`; 503 while `suspended`, `expired` or `closed`. */
  readyz(): ProbeResult;
  /**
   * The leader probe (`/leaderz`): 200 only while this process holds a seat of the election (or the
   * lock) asked about — a seat ends, and the probe fails, as soon as leadership *may* be lost, before
   * anyone else can be elected. Send a Service's traffic only to the leader with it.
   */
  leaderz(query?: LeaderQuery): ProbeResult;
  /** Stops following the coordinator's events. Idempotent. */
  close(): void;
}

/**
 * Probes of a coordinator. Create them before campaigning: seats taken earlier are not seen (the
 * probes follow the coordinator's `leadership` events).
 */
export function healthProbes(coord: Coordinator): HealthProbes {
  return new CoordinatorProbes(coord);
}

class CoordinatorProbes implements HealthProbes {
  /** Seats held now: kind → name → fencing token. */
  private readonly held = { election: new Map<string, bigint>(), lock: new Map<string, bigint>() };
  private readonly listener = (change: LeadershipChange) => {
    if (change.state === "elected") this.held[change.kind].set(change.name, change.token);
    else if (this.held[change.kind].get(change.name) === change.token)
      this.held[change.kind].delete(change.name);
  };
  private closed = false;

  constructor(private readonly coord: Coordinator) {
    if (typeof coord !== "object" || coord === null || typeof coord.on !== "function") {
      throw new RollcallError("INVALID_ARGUMENT", "healthProbes needs a Coordinator (from connect())");
    }
    coord.on("leadership", this.listener);
  }

  healthz(): ProbeResult {
    return { status: 200, body: "ok" };
  }

  readyz(): ProbeResult {
    const state: SessionState = this.coord.state;
    return state === "connected"
      ? { status: 200, body: "ready: session connected" }
      : { status: 503, body: `not ready: session ${state}` };
  }

  leaderz(query: LeaderQuery = {}): ProbeResult {
    if (query.election !== undefined && query.lock !== undefined) {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        "ask the leader probe about an election or a lock, not both",
      );
    }
    const sessionOk = this.coord.state === "connected";
    if (query.lock !== undefined) {
      const token = this.held.lock.get(query.lock);
      return token !== undefined && sessionOk
        ? { status: 200, body: `holding lock ${query.lock} (token ${token})` }
        : { status: 503, body: `not holding lock ${query.lock}` };
    }
    if (query.election !== undefined) {
      const token = this.held.election.get(query.election);
      return token !== undefined && sessionOk
        ? { status: 200, body: `leader of ${query.election} (token ${token})` }
        : { status: 503, body: `not a leader of ${query.election}` };
    }
    const names = [...this.held.election.keys()].sort();
    return names.length > 0 && sessionOk
      ? { status: 200, body: `leader of ${names.join(", ")}` }
      : { status: 503, body: "not a leader" };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.coord.off("leadership", this.listener);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
