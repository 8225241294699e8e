import type { Member } from "../types.js";

/** Orders members by `seq`, the visible order every election and lock relies on. */
export function bySeq(a: Member, b: Member): number {
  return a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0;
}
