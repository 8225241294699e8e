import {
  type Configuration,
  type Departure,
  type GroupView,
  type Partitioner,
  type ReactorContext,
  type ReactorHandler,
  RollcallError,
} from "@rollcall/core";
import {
  decodePlacement,
  encodePlacement,
  instanceOfKey,
  instancesOf,
  PLACEMENT_PREFIX,
  type Placement,
  placementKey,
} from "./placement.js";
import type { ProcessEvent } from "./report.js";
import { changesOf, until } from "./until.js";

/** What {@link evacuation} works with. */
export interface EvacuationOptions {
  /** The `placements` configuration. */
  placements: Configuration;
  /** The live computes (the partitioner's view). */
  computes: GroupView;
  /** Chooses the target of each instance among the live computes. */
  partitioner: Partitioner;
  /** How long a target may take to report an instance running (ms) before the run fails and is retried. */
  rebuildTimeout: number;
  /** Where progress is reported. */
  report: (event: ProcessEvent) => void;
}

/**
 * The instance-HA reactor's handler (Nova's `evacuate`): every instance of the departed compute is
 * placed on a live compute chosen by the {@link Partitioner}, by a compare-and-set on
 * `instances/<id>` recording the host, the departure's idempotency key and the reactor's fencing
 * token; then the handler waits for the target to report it running (the rebuild).
 *
 * A placement is written only while the instance is still recorded on the departed compute (no entry
 * yet, or an entry naming that compute), or when this departure's own earlier placement names a target
 * that died before running it; never over a placement written with a larger token. So a second run
 * for the same departure — the reactor died mid-handler and its successor runs it again — leaves what
 * the first run placed alone, and a stale reactor cannot move an instance a newer one placed.
 */
export function evacuation(options: EvacuationOptions): ReactorHandler {
  return async (departure, context) => {
    const instances = await instancesToEvacuate(options.placements, departure);
    options.report({
      event: "evacuating",
      key: departure.key,
      from: departure.memberId,
      instances,
      token: context.token.toString(),
      attempt: context.attempt,
    });
    for (const instance of instances) {
      const host = await place(options, instance, departure, context);
      await until(
        `${instance} running on ${host}`,
        () => {
          const target = options.computes.get(host);
          if (target === undefined) throw new Error(`${host} left before it ran ${instance}`);
          return instancesOf(target.metadata).includes(instance);
        },
        [changesOf(options.computes)],
        options.rebuildTimeout,
        context.signal,
      );
    }
  };
}

/**
 * The departed compute's instances: those its last metadata listed, and those placed on it that it
 * had not reported running yet.
 */
async function instancesToEvacuate(placements: Configuration, departure: Departure): Promise<string[]> {
  const instances = new Set(instancesOf(departure.metadata));
  const { entries } = await placements.entries({ prefix: PLACEMENT_PREFIX });
  for (const entry of entries) {
    if (decodePlacement(entry.value)?.host === departure.memberId) instances.add(instanceOfKey(entry.key));
  }
  return [...instances].sort();
}

/** Whether `current` (the stored placement) still has to be replaced by this departure's handler. */
function needsPlacing(
  current: Placement | undefined,
  departure: Departure,
  token: bigint,
  computes: GroupView,
): boolean {
  if (current === undefined) return true;
  if (current.token > token) return false;
  if (current.host === departure.memberId) return true;
  return current.key === departure.key && !computes.has(current.host);
}

/** Places `instance` (or leaves the placement already there); resolves with the host that runs it. */
async function place(
  options: EvacuationOptions,
  instance: string,
  departure: Departure,
  { token, leadership }: ReactorContext,
): Promise<string> {
  const key = placementKey(instance);
  for (;;) {
    const entry = await options.placements.get(key);
    const current = decodePlacement(entry?.value);
    if (current !== undefined && !needsPlacing(current, departure, token, options.computes)) {
      options.report({
        event: "kept",
        instance,
        host: current.host,
        key: current.key,
        token: current.token.toString(),
      });
      return current.host;
    }
    const host = options.partitioner.membersFor(instance, { ignore: [departure.memberId] })[0];
    if (host === undefined) throw new Error(`no live compute to take ${instance}`);
    // The leadership's validity, checked right before the write: a reactor that may have lost it writes nothing.
    if (!leadership.isValid()) throw new RollcallError("NOT_LEADER", "the reactor's leadership may be lost");
    const placement: Placement = { host, evacuatedFrom: departure.memberId, key: departure.key, token };
    try {
      await options.placements.set(key, encodePlacement(placement), { ifVersion: entry?.version ?? 0n });
      options.report({ event: "placed", instance, host, key: departure.key, token: token.toString() });
      return host;
    } catch (error) {
      // Someone wrote it meanwhile (a stale reactor, or a newer one): read it again and decide again.
      if (!RollcallError.hasCode(error, "VERSION_MISMATCH")) throw error;
    }
  }
}
