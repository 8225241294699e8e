import { feedIterable } from "./feed-iterator.js";
import type { GroupFeed } from "./group-feed.js";
import type { Member } from "./types.js";
import { validateOptions, validateSignal } from "./validation.js";

/** What observing an election's or a lock's candidates needs from the coordinator. */
export interface CandidateHost {
  acquireFeed(group: string, create: boolean): Promise<{ feed: GroupFeed; release(): void }>;
  assertOpen(): void;
}

function sameQueue(a: Member[], b: Member[]): boolean {
  return a.length === b.length && a.every((m, i) => m.id === b[i]?.id && m.seq === b[i]?.seq);
}

/**
 * Every candidate of an election or lock group in `seq` order, now and after every change of the
 * queue (an entry, a departure); metadata-only updates are not reported. Shares the group's feed.
 */
export function observeCandidates(
  host: CandidateHost,
  group: string,
  options: { signal?: AbortSignal } | undefined,
): AsyncIterable<Member[]> {
  validateOptions("observe options", options);
  const signal = validateSignal("signal", options?.signal);
  host.assertOpen();
  let last: Member[] = [];
  return feedIterable<Member[]>(
    () => host.acquireFeed(group, true),
    signal,
    (feed) => {
      last = feed.members();
      return last;
    },
    (feed) => {
      const queue = feed.members();
      if (sameQueue(last, queue)) return undefined;
      last = queue;
      return queue;
    },
  );
}
