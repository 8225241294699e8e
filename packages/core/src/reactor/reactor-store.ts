import type { Configuration } from "../api.js";
import { RollcallError } from "../errors/rollcall-error.js";
import type { Json, LeaveReason, Member, Metadata } from "../types.js";
import type { BrakeStatus, Departure } from "./reactor-types.js";

/** The configuration store every reactor keeps its progress in. */
export const REACTOR_CONFIG = "rollcall.reactor";

/** How many handled incarnations the state remembers (a pending record older than these is long gone). */
const DONE_KEPT = 500;

/** The shared state of one reactor: who acts (fencing token), the brake, the recently handled departures. */
export interface ReactorRecord {
  /** The fencing token of the last actor that took over; a write by a smaller one is refused. */
  token: bigint;
  /** The group the reactor watches (written by each actor that takes over). */
  group?: string;
  brake: (BrakeStatus & { releasedAt?: Date }) | undefined;
  /** Idempotency keys of the departures recorded as handled, oldest first. */
  done: string[];
}

/** A reactor's fencing token is older than the one recorded: it must stop acting. */
export function staleToken(name: string, mine: bigint, recorded: bigint): RollcallError {
  return new RollcallError(
    "NOT_LEADER",
    `reactor ${JSON.stringify(name)}: fencing token ${mine} is stale (an actor with token ${recorded} took over)`,
  );
}

/** A stored state record as the reactor reads it (a missing one is the empty state). */
export function decodeRecord(value: Json | undefined): ReactorRecord {
  const v = (typeof value === "object" && value !== null && !Array.isArray(value) ? value : {}) as Record<
    string,
    Json
  >;
  const brake = v.brake as Record<string, Json> | null | undefined;
  return {
    token: typeof v.token === "string" ? BigInt(v.token) : 0n,
    ...(typeof v.group === "string" ? { group: v.group } : {}),
    brake:
      brake && typeof brake === "object"
        ? {
            engaged: brake.engaged === true,
            since: new Date(String(brake.since)),
            departures: Number(brake.departures),
            size: Number(brake.size),
            ...(typeof brake.releasedAt === "string" ? { releasedAt: new Date(brake.releasedAt) } : {}),
          }
        : undefined,
    done: Array.isArray(v.done) ? v.done.filter((d): d is string => typeof d === "string") : [],
  };
}

function encodeRecord(record: ReactorRecord): Json {
  return {
    token: record.token.toString(),
    ...(record.group === undefined ? {} : { group: record.group }),
    brake: record.brake
      ? {
          engaged: record.brake.engaged,
          since: record.brake.since.toISOString(),
          departures: record.brake.departures,
          size: record.brake.size,
          ...(record.brake.releasedAt ? { releasedAt: record.brake.releasedAt.toISOString() } : {}),
        }
      : null,
    done: record.done.slice(-DONE_KEPT),
  };
}

function departureOf(group: string, value: Json): Departure | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, Json>;
  if (typeof v.memberId !== "string" || typeof v.seq !== "string") return undefined;
  const seq = BigInt(v.seq);
  return {
    group,
    memberId: v.memberId,
    seq,
    metadata: (typeof v.metadata === "object" && v.metadata !== null && !Array.isArray(v.metadata)
      ? v.metadata
      : {}) as Metadata,
    reason: (v.reason === "left" || v.reason === "expired" ? v.reason : "unknown") as LeaveReason,
    departedAt: new Date(String(v.departedAt)),
    key: `${v.memberId}@${seq}`,
  };
}

/** A pending departure as stored, with its attempts so far and the last one's error. */
export interface StoredPending {
  departure: Departure;
  attempts: number;
  lastError?: string;
}

/**
 * A reactor's progress in the configuration store: `<name>/state` (the {@link ReactorRecord}, written
 * only by compare-and-set and refused to an actor whose token is older than the recorded one),
 * `<name>/known/<memberId>` (the membership last seen, for departures that happen while no actor runs)
 * and `<name>/pending/<memberId>@<seq>` (departures not yet handled). Only the state's write is the
 * fence: known and pending records are facts any actor may write, and are removed only after the state
 * recorded the departure as handled.
 */
export class ReactorStore {
  constructor(
    private readonly config: Configuration,
    readonly name: string,
    readonly group: string,
  ) {}

  private get stateKey(): string {
    return `${this.name}/state`;
  }

  /** The state and the version it is at (`0n`: never written). */
  async read(): Promise<{ record: ReactorRecord; version: bigint }> {
    const entry = await this.config.get(this.stateKey);
    return { record: decodeRecord(entry?.value), version: entry?.version ?? 0n };
  }

  /**
   * Applies `change` to the state by compare-and-set, re-reading and re-applying after a concurrent write.
   * With `token`, refuses (`NOT_LEADER`) once the recorded token is larger; `change` returning `undefined`
   * writes nothing.
   */
  async update(
    token: bigint | undefined,
    change: (record: ReactorRecord) => ReactorRecord | undefined,
  ): Promise<ReactorRecord> {
    for (;;) {
      const { record, version } = await this.read();
      if (token !== undefined && record.token > token) throw staleToken(this.name, token, record.token);
      const next = change({ ...record, done: [...record.done] });
      if (next === undefined) return record;
      try {
        await this.config.set(this.stateKey, encodeRecord(next), { ifVersion: version });
        return next;
      } catch (error) {
        if (!RollcallError.hasCode(error, "VERSION_MISMATCH")) throw error;
      }
    }
  }

  /** The membership recorded by the last actor: member id → `seq` and metadata. */
  async known(): Promise<Map<string, { seq: bigint; metadata: Metadata }>> {
    const { entries } = await this.config.entries({ prefix: `${this.name}/known/` });
    const known = new Map<string, { seq: bigint; metadata: Metadata }>();
    for (const entry of entries) {
      const v = entry.value as Record<string, Json>;
      if (typeof v?.seq !== "string") continue;
      known.set(entry.key.slice(`${this.name}/known/`.length), {
        seq: BigInt(v.seq),
        metadata: (v.metadata ?? {}) as Metadata,
      });
    }
    return known;
  }

  async putKnown(member: Member): Promise<void> {
    await this.config.set(`${this.name}/known/${member.id}`, {
      seq: member.seq.toString(),
      metadata: member.metadata,
    });
  }

  async deleteKnown(memberId: string, seq: bigint): Promise<void> {
    const entry = await this.config.get(`${this.name}/known/${memberId}`);
    if (entry === undefined || (entry.value as Record<string, Json>).seq !== seq.toString()) return;
    await this.config.delete(entry.key, { ifVersion: entry.version }).catch((error: unknown) => {
      if (!RollcallError.hasCode(error, "VERSION_MISMATCH")) throw error;
    });
  }

  /** The departures recorded and not yet handled. */
  async pending(): Promise<StoredPending[]> {
    const { entries } = await this.config.entries({ prefix: `${this.name}/pending/` });
    const pending: StoredPending[] = [];
    for (const entry of entries) {
      const departure = departureOf(this.group, entry.value);
      const value = entry.value as Record<string, Json>;
      const attempts = typeof value?.attempts === "number" ? value.attempts : 0;
      if (departure)
        pending.push(
          typeof value?.lastError === "string"
            ? { departure, attempts, lastError: value.lastError }
            : { departure, attempts },
        );
    }
    return pending;
  }

  /**
   * Stores a pending departure: `running` while an attempt is under way (written before the handler runs,
   * so a run cut short by the actor's death still counts), with the last failed attempt's error.
   */
  async putPending(
    departure: Departure,
    attempts: number,
    lastError?: string,
    running = false,
  ): Promise<void> {
    await this.config.set(`${this.name}/pending/${departure.key}`, {
      memberId: departure.memberId,
      seq: departure.seq.toString(),
      metadata: departure.metadata,
      reason: departure.reason,
      departedAt: departure.departedAt.toISOString(),
      attempts,
      running,
      ...(lastError === undefined ? {} : { lastError: lastError.slice(0, 500) }),
    });
  }

  async deletePending(key: string): Promise<void> {
    await this.config.delete(`${this.name}/pending/${key}`);
  }
}
