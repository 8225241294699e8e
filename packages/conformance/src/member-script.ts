import type { Coordinator, Leadership } from "@rollcall/core";
import { reportWhenCandidate } from "./report-candidacy.js";

/** What a kit member does once connected. */
export interface MemberScript {
  join?: { group: string; metadata?: Record<string, string | number> }[];
  campaign?: { election: string; seats?: number };
  /**
   * A group to watch: every event is reported as a `watch` message carrying a {@link WatchedEvent}
   * (sent before `ready`, once the watch has started).
   */
  watch?: string;
}

/** A watch event as a member process reports it (JSON-safe: no bigint, no Date). */
export interface WatchedEvent {
  type: "snapshot" | "join" | "leave" | "update";
  /** The member of a join / update / leave. */
  memberId?: string;
  /** Its metadata (join, update). */
  metadata?: unknown;
  /** Every member of a snapshot, with metadata. */
  members?: { id: string; metadata: unknown }[];
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
  if (script.watch !== undefined) {
    let resolveStarted = () => {};
    const started = new Promise<void>((resolve) => {
      resolveStarted = resolve;
    });
    void (async () => {
      try {
        for await (const event of coord.watch(script.watch as string)) {
          const watched: WatchedEvent =
            event.type === "snapshot"
              ? { type: "snapshot", members: event.members.map((m) => ({ id: m.id, metadata: m.metadata })) }
              : event.type === "leave"
                ? { type: "leave", memberId: event.memberId }
                : { type: event.type, memberId: event.member.id, metadata: event.member.metadata };
          send({ type: "watch", event: watched });
          resolveStarted();
        }
      } catch (error) {
        send({ type: "watch-error", message: String(error) });
        resolveStarted();
      }
    })();
    await started;
  }
  send({ type: "ready", sessionTimeout: coord.sessionTimeout });
  let current: Leadership | undefined;
  let stopped = false;
  if (script.campaign) {
    const election = coord.election(script.campaign.election, { seats: script.campaign.seats ?? 1 });
    reportWhenCandidate(election, coord.memberId, () => stopped, send);
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
