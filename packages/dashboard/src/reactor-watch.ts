import type { ConfigEntry, ConfigEvent, Json, LeaveReason } from "@rollcall/core";
import type { ConfigFollower } from "./config-watches.js";
import type {
  WireDelta,
  WireReactor,
  WireReactorBrake,
  WireReactorEvent,
  WireReactorPending,
} from "./wire.js";

/** Pending departures sent per reactor (failing ones first): a mass failure does not flood the page. */
export const REACTOR_PENDING_SHOWN = 100;
/** Timeline lines per reactor and batch of changes; the rest is summed up in one more line. */
const EVENTS_PER_BATCH = 20;

/**
 * Whether a failed attempt gets a timeline line: the first three, then the 4th, 8th, 16th… — a handler
 * that fails for hours does not push everything else out of the timeline (its card shows every attempt).
 */
function failureTold(attempt: number): boolean {
  return attempt <= 3 || (Number.isInteger(Math.log2(attempt)) && attempt > 0);
}

/** Where a {@link ReactorWatch} sends what it sees. */
export interface ReactorSink {
  /** A delta for the pages. */
  broadcast(delta: WireDelta): void;
  /** A line for the timeline (kept for new pages, and sent to the open ones). */
  event(entry: WireReactorEvent): void;
}

/** A reactor's `<name>/state` record, decoded. */
interface StoredState {
  token: string;
  brake: WireReactorBrake | null;
  done: ReadonlySet<string>;
}

/** A line of the timeline before it is stamped. */
type Line = Omit<WireReactorEvent, "at" | "kind" | "name">;

function record(value: Json): Record<string, Json> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
}

function time(value: Json | undefined): number | null {
  if (typeof value !== "string") return null;
  const at = Date.parse(value);
  return Number.isFinite(at) ? at : null;
}

function count(value: Json | undefined): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function decodeState(value: Json): StoredState {
  const v = record(value) ?? {};
  const brake = v.brake === undefined ? undefined : record(v.brake);
  return {
    token: typeof v.token === "string" && /^\d+$/.test(v.token) ? v.token : "0",
    brake: brake
      ? {
          engaged: brake.engaged === true,
          since: time(brake.since),
          departures: count(brake.departures),
          size: count(brake.size),
          releasedAt: time(brake.releasedAt),
        }
      : null,
    done: new Set(Array.isArray(v.done) ? v.done.filter((d): d is string => typeof d === "string") : []),
  };
}

/**
 * A `<name>/pending/<key>` record, decoded. The reactor stores `attempts` before each run (without an
 * error) and the error after a failed one: a record without an error after a failure is the next run,
 * and keeps the error it follows (`previous`), so a handler that keeps failing shows its error throughout.
 */
function decodePending(
  key: string,
  entry: ConfigEntry,
  previous: WireReactorPending | undefined,
): WireReactorPending | undefined {
  const v = record(entry.value);
  if (!v || typeof v.memberId !== "string" || typeof v.seq !== "string") return undefined;
  const reason: LeaveReason = v.reason === "left" || v.reason === "expired" ? v.reason : "unknown";
  const attempts = count(v.attempts);
  const failed = typeof v.lastError === "string";
  // `running` is stored (the last error is kept while the next attempt runs); older records lack it.
  const running = typeof v.running === "boolean" ? v.running : attempts > 0 && !failed;
  return {
    key,
    memberId: v.memberId,
    seq: v.seq,
    reason,
    departedAt: time(v.departedAt),
    attempts,
    running,
    lastError: failed ? (v.lastError as string) : (previous?.lastError ?? null),
    updatedAt: entry.updatedAt.getTime(),
  };
}

/** Failing first (most attempts first), then the oldest. */
function byUrgency(a: WireReactorPending, b: WireReactorPending): number {
  return (
    Number(b.lastError !== null) - Number(a.lastError !== null) ||
    b.attempts - a.attempts ||
    (a.departedAt ?? 0) - (b.departedAt ?? 0) ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
}

/** The reactor a key of the store belongs to, and what the key is (names hold no `/`). */
function parseKey(key: string): { name: string; kind: "state" | "pending" | "other"; rest: string } {
  const slash = key.indexOf("/");
  if (slash <= 0) return { name: "", kind: "other", rest: key };
  const name = key.slice(0, slash);
  const rest = key.slice(slash + 1);
  if (rest === "state") return { name, kind: "state", rest };
  if (rest.startsWith("pending/")) return { name, kind: "pending", rest: rest.slice("pending/".length) };
  return { name, kind: "other", rest };
}

/**
 * The reactors of the cluster, read from the `rollcall.reactor` configuration store as the dashboard's
 * watch of that store delivers it (no watch of its own): a reactor is a `<name>/state` record; its
 * pending departures are the `<name>/pending/<key>` records not yet listed as done. Changes are sent
 * once per turn of the event loop (a mass departure writes many records at once), as one `reactor`
 * delta per reactor that changed, with timeline lines for what each write says happened (the brake
 * engaged or released, a departure recorded, a run failed, a departure handled or cancelled). A
 * snapshot (the first, or after a resync) is shown as it is, without lines.
 */
export class ReactorWatch implements ConfigFollower {
  private readonly states = new Map<string, StoredState>();
  private readonly pending = new Map<string, Map<string, WireReactorPending>>();
  private readonly shown = new Map<string, WireReactor>();
  /** `JSON.stringify` of each shown reactor, to send only real changes. */
  private readonly shownJson = new Map<string, string>();
  private readonly dirty = new Set<string>();
  private readonly lines = new Map<string, Line[]>();
  private flushing: NodeJS.Immediate | undefined;

  constructor(private readonly sink: ReactorSink) {}

  /** The reactors the page knows of, by name. */
  wire(): WireReactor[] {
    return [...this.shown.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  apply(event: ConfigEvent): void {
    switch (event.type) {
      case "snapshot":
        for (const name of [...this.states.keys(), ...this.pending.keys(), ...this.shown.keys()])
          this.dirty.add(name);
        this.states.clear();
        this.pending.clear();
        this.lines.clear();
        for (const entry of event.entries) this.put(entry, false);
        // Shown at once: the store's card and its reactors reach the page together.
        this.flush();
        return;
      case "put":
        this.put(event.entry, true);
        break;
      case "delete":
        this.remove(event.key);
        break;
    }
    if (this.dirty.size > 0) this.flushing ??= setImmediate(() => this.flush());
  }

  reset(): void {
    clearImmediate(this.flushing);
    this.flushing = undefined;
    this.states.clear();
    this.pending.clear();
    this.dirty.clear();
    this.lines.clear();
    for (const name of this.shown.keys()) this.sink.broadcast({ type: "reactor-removed", name });
    this.shown.clear();
    this.shownJson.clear();
  }

  private line(name: string, line: Line): void {
    const lines = this.lines.get(name) ?? [];
    this.lines.set(name, lines);
    lines.push(line);
  }

  private put(entry: ConfigEntry, tell: boolean): void {
    const { name, kind, rest } = parseKey(entry.key);
    if (kind === "state") {
      const next = decodeState(entry.value);
      const before = this.states.get(name);
      this.states.set(name, next);
      if (tell && before) this.stateLines(name, before, next);
    } else if (kind === "pending") {
      const map = this.pending.get(name) ?? new Map<string, WireReactorPending>();
      const before = map.get(rest);
      const departure = decodePending(rest, entry, before);
      if (!departure) return;
      this.pending.set(name, map);
      map.set(rest, departure);
      if (tell && !before && departure.attempts === 0)
        this.line(name, { event: "departed", key: rest, detail: departure.reason });
      // A failure is a record with its error: the first one of its attempt.
      const failed = typeof record(entry.value)?.lastError === "string" && !departure.running;
      const first = !before || before.running || before.attempts !== departure.attempts;
      if (tell && failed && first && failureTold(departure.attempts)) {
        this.line(name, {
          event: "failed",
          key: rest,
          detail: `attempt ${departure.attempts}: ${departure.lastError}`,
        });
      }
    } else return;
    this.dirty.add(name);
  }

  private stateLines(name: string, before: StoredState, next: StoredState): void {
    const brake = next.brake;
    if (brake?.engaged && !before.brake?.engaged) {
      this.line(name, {
        event: "braked",
        key: null,
        detail: `${brake.departures} of ${brake.size} members left within the window`,
      });
    } else if (before.brake?.engaged && !brake?.engaged) {
      this.line(name, { event: "released", key: null, detail: null });
    }
    const pending = this.pending.get(name);
    for (const key of next.done) {
      if (!before.done.has(key) && pending?.has(key))
        this.line(name, { event: "handled", key, detail: null });
    }
  }

  private remove(key: string): void {
    const { name, kind, rest } = parseKey(key);
    if (kind === "state") this.states.delete(name);
    else if (kind === "pending") {
      const map = this.pending.get(name);
      if (!map?.delete(rest)) return;
      if (map.size === 0) this.pending.delete(name);
      // Gone without being recorded as done: the member came back within the grace (or while braked).
      if (this.states.get(name)?.done.has(rest) === false)
        this.line(name, { event: "cancelled", key: rest, detail: null });
    } else return;
    this.dirty.add(name);
  }

  private flush(): void {
    clearImmediate(this.flushing);
    this.flushing = undefined;
    const at = Date.now();
    for (const name of [...this.dirty].sort()) {
      const next = this.build(name);
      const lines = this.lines.get(name) ?? [];
      this.lines.delete(name);
      if (!next) {
        if (!this.shown.delete(name)) continue;
        this.shownJson.delete(name);
        this.sink.broadcast({ type: "reactor-removed", name });
        continue;
      }
      const json = JSON.stringify(next);
      if (json !== this.shownJson.get(name)) {
        this.shown.set(name, next);
        this.shownJson.set(name, json);
        this.sink.broadcast({ type: "reactor", at, reactor: next });
      }
      this.tell(at, name, lines);
    }
    this.dirty.clear();
    this.lines.clear();
  }

  private build(name: string): WireReactor | undefined {
    const state = this.states.get(name);
    if (!state) return undefined;
    const pending = [...(this.pending.get(name)?.values() ?? [])]
      .filter((p) => !state.done.has(p.key))
      .sort(byUrgency);
    return {
      name,
      election: `reactor.${name}`,
      token: state.token,
      brake: state.brake,
      pending: pending.slice(0, REACTOR_PENDING_SHOWN),
      pendingCount: pending.length,
    };
  }

  /** The timeline lines of one batch: at most {@link EVENTS_PER_BATCH}, the rest summed up. */
  private tell(at: number, name: string, lines: Line[]): void {
    const shown = lines.length > EVENTS_PER_BATCH ? lines.slice(0, EVENTS_PER_BATCH - 1) : lines;
    for (const line of shown) this.sink.event({ at, kind: "reactor", name, ...line });
    if (shown.length === lines.length) return;
    const rest = lines.slice(shown.length);
    const kinds = new Map<Line["event"], number>();
    for (const line of rest) kinds.set(line.event, (kinds.get(line.event) ?? 0) + 1);
    const sorted = [...kinds].sort((a, b) => b[1] - a[1]);
    this.sink.event({
      at,
      kind: "reactor",
      name,
      event: sorted[0]?.[0] ?? "departed",
      key: null,
      detail: `and ${rest.length} more: ${sorted.map(([kind, n]) => `${n} ${kind}`).join(", ")}`,
    });
  }
}
