import type { Coordinator } from "../api.js";
import { validateElectionName } from "../validation.js";
import { releaseBrake } from "./reactor.js";
import { REACTOR_CONFIG, ReactorStore } from "./reactor-store.js";
import type { BrakeStatus, Departure } from "./reactor-types.js";

function storeOf(coord: Coordinator, name: string): ReactorStore {
  validateElectionName(`reactor.${name}`);
  return new ReactorStore(coord.config(REACTOR_CONFIG), name, name);
}

/**
 * Releases the mass-failure brake of the reactor `name` from any process (an operator's decision, as
 * `rollcall react --release`); the acting reactor resumes. Resolves `true` if the brake was engaged.
 */
export function releaseReactor(coord: Coordinator, name: string): Promise<boolean> {
  return releaseBrake(storeOf(coord, name));
}

/** What the reactor `name` has stored: its brake and its departures not yet handled, from any process. */
export async function reactorStatus(coord: Coordinator, name: string): Promise<ReactorStatus> {
  const store = storeOf(coord, name);
  const { record } = await store.read();
  const done = new Set(record.done);
  const pending = (await store.pending())
    .filter((p) => !done.has(p.departure.key))
    .map((p) => ({
      ...p.departure,
      attempts: p.attempts,
      ...(p.lastError === undefined ? {} : { lastError: p.lastError }),
    }));
  return {
    token: record.token,
    ...(record.group === undefined ? {} : { group: record.group }),
    brake: record.brake,
    pending,
  };
}

/** What {@link reactorStatus} reads. */
export interface ReactorStatus {
  /** The fencing token of the last actor that took over (`0n`: none yet). */
  token: bigint;
  /** The group the reactor watches, as its last actor recorded it. */
  group?: string;
  /** The stored brake, if it was ever engaged. */
  brake: BrakeStatus | undefined;
  /** The departures not yet handled, with the attempts so far and the last failure. */
  pending: (Departure & { attempts: number; lastError?: string })[];
}
