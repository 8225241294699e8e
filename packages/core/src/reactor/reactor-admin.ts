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
export async function reactorStatus(
  coord: Coordinator,
  name: string,
): Promise<{ token: bigint; brake: BrakeStatus | undefined; pending: Departure[] }> {
  const store = storeOf(coord, name);
  const { record } = await store.read();
  const done = new Set(record.done);
  const pending = (await store.pending()).map((p) => p.departure).filter((d) => !done.has(d.key));
  return { token: record.token, brake: record.brake, pending };
}
