/**
 * What a backend is, declared by its driver and checked by the conformance kit.
 * `connect(url, { require })` refuses a backend that lacks a requirement with
 * `CHARACTERISTIC_MISMATCH`.
 */
export interface Characteristics {
  /** Who can share a group: one process (`memory://`), one host (SQLite), or any host. */
  scope: "process" | "host" | "cluster";
  /** Ephemeral by a server-side session, or by a TTL the client refreshes. */
  liveness: "session" | "ttl";
  /** The backend pushes changes, or core polls an ordered change log. */
  watch: "push" | "poll";
  /** Whether a graceful leave can be told from an expiry (`leave` reason `left` vs `expired`). */
  leaveReason: boolean;
  /** The consistency of reads. */
  consistency: "linearizable" | "sequential" | "serializable";
  /**
   * The configuration store (`coord.config(name)`): `durable` — entries survive a restart of the server
   * (as far as the server persists its data); `volatile` — they live as long as the server process (the
   * memory backend, or Redis without persistence); `none` — the backend has no configuration store.
   */
  config: "none" | "volatile" | "durable";
}

const order: Record<keyof Characteristics, readonly (string | boolean)[]> = {
  scope: ["process", "host", "cluster"],
  liveness: ["session", "ttl"],
  watch: ["poll", "push"],
  leaveReason: [false, true],
  consistency: ["serializable", "sequential", "linearizable"],
  config: ["none", "volatile", "durable"],
};

/**
 * Which required characteristics `actual` fails to meet. Ordered characteristics are met by
 * anything at least as strong: `scope: "host"` is met by a cluster backend, `watch: "poll"` by a
 * push backend, `consistency: "sequential"` by a linearizable one, `config: "volatile"` by a durable store,
 * `leaveReason: false` by any.
 * `liveness` must match exactly.
 *
 * @returns the names of the unmet characteristics, empty when all are met.
 */
export function unmetCharacteristics(
  actual: Characteristics,
  required: Partial<Characteristics>,
): (keyof Characteristics)[] {
  const unmet: (keyof Characteristics)[] = [];
  for (const key of Object.keys(required) as (keyof Characteristics)[]) {
    const want = required[key];
    if (want === undefined) continue;
    if (key === "liveness") {
      if (actual.liveness !== want) unmet.push(key);
      continue;
    }
    const scale = order[key];
    if (scale === undefined) {
      unmet.push(key);
      continue;
    }
    if (scale.indexOf(actual[key]) < scale.indexOf(want)) unmet.push(key);
  }
  return unmet;
}
