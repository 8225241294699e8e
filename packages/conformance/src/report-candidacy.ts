import type { Election } from "@rollcall/core";

/**
 * Sends `{ type: "campaigning" }` once `memberId` is among the election's candidates, so a test can
 * order events on "this process is in the election" (member and stalled-member scripts). Gives up
 * quietly when `stopped()` turns true first.
 */
export function reportWhenCandidate(
  election: Election,
  memberId: string,
  stopped: () => boolean,
  send: (message: Record<string, unknown>) => void,
): void {
  void (async () => {
    while (!stopped()) {
      const candidates = await election.candidates().catch(() => []);
      if (candidates.some((m) => m.id === memberId)) {
        send({ type: "campaigning" });
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
}
