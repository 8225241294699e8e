import type { GroupView, Leadership, Member } from "@rollcall/core";

/** A placement decision. */
export interface Placement {
  request: string;
  host: string;
  fencingToken: bigint;
}

/**
 * Nova's filter-and-weigh, reduced to its membership part: only hosts the view says are up are
 * candidates, weighed by free CPUs (capacity from metadata minus what this scheduler placed).
 * Refuses to place anything once its leadership is no longer valid.
 */
export class Scheduler {
  private readonly used = new Map<string, number>();

  constructor(
    private readonly view: GroupView,
    private readonly leadership: Leadership,
  ) {}

  private free(member: Member): number {
    const cpus = typeof member.metadata.cpus === "number" ? member.metadata.cpus : 0;
    return cpus - (this.used.get(member.id) ?? 0);
  }

  place(request: string, cpus: number): Placement | undefined {
    if (!this.leadership.isValid()) throw new Error("not the active scheduler any more: refusing to place");
    const candidates = this.view
      .members()
      .filter((m) => this.free(m) >= cpus)
      .sort((a, b) => this.free(b) - this.free(a) || (a.id < b.id ? -1 : 1));
    const host = candidates[0];
    if (!host) return undefined;
    this.used.set(host.id, (this.used.get(host.id) ?? 0) + cpus);
    return { request, host: host.id, fencingToken: this.leadership.token };
  }
}
