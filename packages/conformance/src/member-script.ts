import type { Coordinator, Leadership } from "@rollcall/core";

/** What a kit member does once connected. */
export interface MemberScript {
  join?: { group: string; metadata?: Record<string, string | number> }[];
  campaign?: { election: string; seats?: number };
}

/** A running member script: resign the current leadership, or stop campaigning. */
export interface RunningMember {
  resign(): Promise<void>;
  stop(): void;
}

/**
 * The behaviour shared by member processes and in-process members: report session changes, join,
 * then campaign in a loop, reporting every leadership as `elected` and its end as `deposed` with the
 * moment its validity really ended (the earlier of the abort and the validity deadline).
 */
export async function runMemberScript(
  coord: Coordinator,
  script: MemberScript,
  send: (message: Record<string, unknown>) => void,
): Promise<RunningMember> {
  coord.on("session", (state, previous) => send({ type: "session", state, previous }));
  coord.on("rejoined", (groups) => send({ type: "rejoined", groups }));
  for (const { group, metadata } of script.join ?? []) {
    await coord.join(group, { createGroup: true, ...(metadata ? { metadata } : {}) });
  }
  send({ type: "ready", sessionTimeout: coord.sessionTimeout });
  let current: Leadership | undefined;
  let stopped = false;
  if (script.campaign) {
    const election = coord.election(script.campaign.election, { seats: script.campaign.seats ?? 1 });
    // Reports "campaigning" once this candidate is in the election, so tests can order events on it.
    void (async () => {
      while (!stopped) {
        const candidates = await election.candidates().catch(() => []);
        if (candidates.some((m) => m.id === coord.memberId)) {
          send({ type: "campaigning" });
          return;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    void (async () => {
      while (!stopped) {
        try {
          const leadership = await election.campaign();
          current = leadership;
          const electedAt = leadership.electedAt.getTime();
          send({ type: "elected", token: String(leadership.token), electedAt, valid: leadership.isValid() });
          await new Promise<void>((resolve) => {
            if (leadership.signal.aborted) resolve();
            else leadership.signal.addEventListener("abort", () => resolve(), { once: true });
          });
          send({
            type: "deposed",
            token: String(leadership.token),
            electedAt,
            endedAt: leadership.validUntil.getTime(),
          });
          current = undefined;
        } catch (error) {
          if (stopped) return;
          send({ type: "campaign-error", message: String(error) });
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
  }
  return {
    resign: async () => {
      await current?.resign();
    },
    stop: () => {
      stopped = true;
    },
  };
}
