import type { CampaignOptions, Election, Leadership } from "./api.js";
import type { Candidacy } from "./candidacy.js";
import { observeCandidates } from "./candidate-observer.js";
import { RollcallError } from "./errors/rollcall-error.js";
import { feedIterable } from "./feed-iterator.js";
import type { GroupFeed } from "./group-feed.js";
import type { Member, Metadata } from "./types.js";
import { validateOptions, validateSignal } from "./validation.js";

/** What an election handle needs from its coordinator. */
export interface ElectionHost {
  candidacy(name: string, seats: number, metadata: Metadata | undefined): Candidacy;
  seatHolders(group: string, seats: number): Promise<Member[]>;
  acquireFeed(group: string, create: boolean): Promise<{ feed: GroupFeed; release(): void }>;
  assertOpen(): void;
}

function sameHolders(a: Member[], b: Member[]): boolean {
  return a.length === b.length && a.every((m, i) => m.id === b[i]?.id && m.seq === b[i]?.seq);
}

/** The {@link Election} a coordinator hands out; the candidacy itself is shared per name. */
export class CoordinatorElection implements Election {
  constructor(
    private readonly host: ElectionHost,
    readonly name: string,
    readonly group: string,
    readonly seats: number,
    private readonly metadata: Metadata | undefined,
  ) {}

  campaign(options?: CampaignOptions): Promise<Leadership> {
    try {
      validateOptions("campaign options", options);
      validateSignal("signal", options?.signal);
      this.host.assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.host.candidacy(this.name, this.seats, this.metadata).campaign(options?.signal, this.metadata);
  }

  async leaders(): Promise<Member[]> {
    this.host.assertOpen();
    return this.host.seatHolders(this.group, this.seats);
  }

  async candidates(): Promise<Member[]> {
    this.host.assertOpen();
    return this.host.seatHolders(this.group, Number.POSITIVE_INFINITY);
  }

  observe(options?: { signal?: AbortSignal }): AsyncIterable<Member[]> {
    validateOptions("observe options", options);
    const signal = validateSignal("signal", options?.signal);
    this.host.assertOpen();
    const seats = this.seats;
    let last: Member[] = [];
    return feedIterable<Member[]>(
      () => this.host.acquireFeed(this.group, true),
      signal,
      (feed) => {
        last = feed.members().slice(0, seats);
        return last;
      },
      (feed) => {
        const holders = feed.members().slice(0, seats);
        if (sameHolders(last, holders)) return undefined;
        last = holders;
        return holders;
      },
    );
  }

  observeCandidates(options?: { signal?: AbortSignal }): AsyncIterable<Member[]> {
    return observeCandidates(this.host, this.group, options);
  }

  toString(): string {
    return `Election(${this.name}, ${this.seats} seat${this.seats === 1 ? "" : "s"})`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** Thrown when an election is asked for with a different seat count than its live candidacy. */
export function seatMismatch(name: string, seats: number, existing: number): RollcallError {
  return new RollcallError(
    "INVALID_ARGUMENT",
    `election ${name} is already campaigned with ${existing} seats, not ${seats}`,
  );
}
