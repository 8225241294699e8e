import type { Json, Metadata } from "@rollcall/core";

/** The configuration store holding where evacuated instances run. */
export const PLACEMENTS = "placements";

/** The prefix of the placement entries: `instances/<instance id>`. */
export const PLACEMENT_PREFIX = "instances/";

/**
 * Where an instance runs after an evacuation: the value of `instances/<id>` in the `placements`
 * configuration. An instance with no entry runs on the compute that listed it when it started.
 */
export interface Placement {
  /** The compute that runs it now. */
  host: string;
  /** The compute it was evacuated from. */
  evacuatedFrom: string;
  /** The departure it was placed for: the reactor's idempotency key, `<memberId>@<seq>`. */
  key: string;
  /** The fencing token of the reactor that wrote it. */
  token: bigint;
}

/** The configuration key of `instance`'s placement. */
export function placementKey(instance: string): string {
  return `${PLACEMENT_PREFIX}${instance}`;
}

/** The instance a placement key is about. */
export function instanceOfKey(key: string): string {
  return key.slice(PLACEMENT_PREFIX.length);
}

/** A placement as stored (JSON: the token as a decimal string). */
export function encodePlacement(placement: Placement): Json {
  return {
    host: placement.host,
    evacuatedFrom: placement.evacuatedFrom,
    key: placement.key,
    token: placement.token.toString(),
  };
}

/** The placement stored in `value`, or `undefined` if it is not one. */
export function decodePlacement(value: Json | undefined): Placement | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const { host, evacuatedFrom, key, token } = value;
  if (typeof host !== "string" || typeof evacuatedFrom !== "string" || typeof key !== "string")
    return undefined;
  if (typeof token !== "string" || !/^\d+$/.test(token)) return undefined;
  return { host, evacuatedFrom, key, token: BigInt(token) };
}

/** The instances a compute lists in its membership metadata (`{ instances: [...] }`). */
export function instancesOf(metadata: Metadata): string[] {
  const listed = metadata.instances;
  return Array.isArray(listed) ? listed.filter((i): i is string => typeof i === "string") : [];
}
