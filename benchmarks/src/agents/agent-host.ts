import {
  type Coordinator,
  connect,
  type GroupView,
  type Leadership,
  type Metadata,
  RollcallError,
} from "@rollcall/core";
import { now } from "../clock.js";
import { ConfigCommands } from "./config-commands.js";
import type { ConfigScaleRequest } from "./config-protocol.js";
import { runConfigScale } from "./config-scale-run.js";
import { mapLimit } from "./limit.js";
import { ReactorCommands } from "./reactor-commands.js";
import { runScale, type ScaleRequest } from "./scale-run.js";

type Emit = (event: Record<string, unknown>) => void;

interface Candidate {
  stopped: boolean;
  leadership: Leadership | undefined;
}

interface ViewEntry {
  view: GroupView;
  changes: number;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What a rollcall agent does, in its own process or in the harness's (memory backend): it holds
 * coordinators by member id and runs the harness's commands on them, stamping every event with the
 * host clock.
 */
export class AgentHost {
  private readonly coords = new Map<string, Coordinator>();
  private readonly views = new Map<string, ViewEntry>();
  private readonly watches = new Set<AbortController>();
  private readonly candidates = new Map<string, Candidate>();
  /** Whether each churning member is in the churn group now (kept across rounds). */
  private readonly churnJoined = new Map<string, boolean>();
  /** The `seq` each churning member joined with last (kept across rounds). */
  private readonly churnSeq = new Map<string, string>();
  private crashed = false;
  /** The config scenario's commands, on this agent's coordinators. */
  private readonly config: ConfigCommands;
  /** The reactor scenario's commands, on this agent's coordinators. */
  private readonly reactors: ReactorCommands;

  constructor(private readonly emit: Emit) {
    this.config = new ConfigCommands((memberId) => this.coord(memberId), emit);
    this.reactors = new ReactorCommands((memberId) => this.coord(memberId), emit);
  }

  /** Member ids of the coordinators this agent holds. */
  memberIds(): string[] {
    return [...this.coords.keys()];
  }

  private coord(memberId: string): Coordinator {
    const coord = this.coords.get(memberId);
    if (!coord) throw new Error(`no coordinator ${memberId} in this agent`);
    return coord;
  }

  /** Runs one command. */
  async handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
    switch (cmd) {
      case "import":
        for (const specifier of args.modules as string[]) await import(specifier);
        return {};
      case "connect":
        return this.connect(
          args.url as string,
          args.memberIds as string[],
          (args.concurrency as number) ?? 10,
        );
      case "join":
        return this.join(
          args.group as string,
          (args.memberIds as string[] | undefined) ?? this.memberIds(),
          (args.metadata as Metadata | undefined) ?? {},
          (args.concurrency as number) ?? 10,
        );
      case "update": {
        const startedAt = now();
        await this.coord(args.memberId as string).updateMetadata(
          args.group as string,
          args.metadata as Metadata,
        );
        return { startedAt, endedAt: now() };
      }
      case "leave": {
        const startedAt = now();
        await this.coord(args.memberId as string).leave(args.group as string);
        return { startedAt, endedAt: now() };
      }
      case "watch":
        return this.watch(args.memberId as string, args.group as string);
      case "view":
        return this.view(args.memberId as string, args.group as string);
      case "viewCheck":
        return this.viewCheck(args.memberId as string, args.group as string);
      case "campaign":
        this.campaign(args.memberId as string, args.election as string);
        return { at: now() };
      case "resign":
        return this.resign(args.memberId as string);
      case "churn":
        return this.churn(
          args.group as string,
          args.memberIds as string[],
          args.durationMs as number,
          args.record === true,
        );
      case "members": {
        const members = await this.coord(args.memberId as string).members(args.group as string);
        return { members: members.map((m) => [m.id, m.seq.toString()]) };
      }
      case "scale":
        return runScale(args as unknown as ScaleRequest);
      case "configScale":
        return runConfigScale(args as unknown as ConfigScaleRequest);
      case "configWatch":
      case "configSets":
      case "configSet":
      case "configGet":
      case "configCas":
        return this.config.handle(cmd, args);
      case "reactorStart":
      case "reactorKnown":
      case "reactorWaitPending":
      case "reactorStatus":
        return this.reactors.handle(cmd, args);
      case "stats": {
        const cpu = process.cpuUsage();
        return { cpuSeconds: (cpu.user + cpu.system) / 1e6, rss: process.memoryUsage().rss };
      }
      case "close":
        await this.close((args.memberIds as string[] | undefined) ?? this.memberIds());
        return {};
      default:
        throw new Error(`unknown command ${cmd}`);
    }
  }

  private async connect(url: string, memberIds: string[], concurrency: number) {
    const startedAt = now();
    let sessionTimeout = 0;
    await mapLimit(memberIds, concurrency, async (memberId) => {
      const coord = await connect(url, { memberId });
      this.coords.set(memberId, coord);
      // Session states as the member itself sees them (a partition: suspended, then expired, re-opened).
      coord.on("session", (state, previous) =>
        this.emit({ event: "session", memberId, state, previous, at: now() }),
      );
      coord.on("rejoined", (groups) => this.emit({ event: "rejoined", memberId, groups, at: now() }));
      sessionTimeout = coord.sessionTimeout;
    });
    return { startedAt, endedAt: now(), sessionTimeout };
  }

  private async join(group: string, memberIds: string[], metadata: Metadata, concurrency: number) {
    const startedAt = now();
    await mapLimit(memberIds, concurrency, (memberId) =>
      this.coord(memberId).join(group, { metadata, createGroup: true }),
    );
    return { startedAt, endedAt: now() };
  }

  private async ensureGroup(coord: Coordinator, group: string): Promise<void> {
    try {
      await coord.createGroup(group);
    } catch (error) {
      if (!(RollcallError.isInstance(error) && error.code === "GROUP_EXISTS")) throw error;
    }
  }

  private async watch(memberId: string, group: string) {
    const coord = this.coord(memberId);
    await this.ensureGroup(coord, group);
    const controller = new AbortController();
    this.watches.add(controller);
    let resolveSnapshot: (size: number) => void = () => {};
    let rejectSnapshot: (error: unknown) => void = () => {};
    const snapshot = new Promise<number>((resolve, reject) => {
      resolveSnapshot = resolve;
      rejectSnapshot = reject;
    });
    void (async () => {
      try {
        for await (const event of coord.watch(group, { signal: controller.signal })) {
          const at = now();
          if (event.type === "snapshot") {
            resolveSnapshot(event.members.length);
            this.emit({ event: "watch", type: "snapshot", group, size: event.members.length, at });
          } else if (event.type === "leave") {
            this.emit({
              event: "watch",
              type: "leave",
              group,
              memberId: event.memberId,
              reason: event.reason,
              at,
            });
          } else {
            this.emit({ event: "watch", type: event.type, group, memberId: event.member.id, at });
          }
        }
      } catch (error) {
        rejectSnapshot(error);
        if (!controller.signal.aborted)
          this.emit({ event: "error", where: "watch", message: message(error), at: now() });
      }
    })();
    const size = await snapshot;
    return { size, at: now() };
  }

  private async view(memberId: string, group: string) {
    await this.ensureGroup(this.coord(memberId), group);
    const startedAt = now();
    const view = await this.coord(memberId).view(group);
    const endedAt = now();
    const entry: ViewEntry = { view, changes: 0 };
    view.on("change", (event) => {
      if (event.type !== "snapshot") entry.changes++;
    });
    this.views.set(`${memberId}\0${group}`, entry);
    return { startedAt, endedAt, size: view.size };
  }

  private async viewCheck(memberId: string, group: string) {
    const entry = this.views.get(`${memberId}\0${group}`);
    if (!entry) throw new Error(`no view of ${group} held by ${memberId}`);
    const listed = new Set((await this.coord(memberId).members(group)).map((m) => m.id));
    const seen = new Set(entry.view.members().map((m) => m.id));
    const missing = [...listed].filter((id) => !seen.has(id));
    const extra = [...seen].filter((id) => !listed.has(id));
    return {
      equal: missing.length === 0 && extra.length === 0,
      viewSize: seen.size,
      membersSize: listed.size,
      missing: missing.slice(0, 5),
      extra: extra.slice(0, 5),
      changes: entry.changes,
    };
  }

  private campaign(memberId: string, name: string): void {
    const coord = this.coord(memberId);
    const candidate: Candidate = { stopped: false, leadership: undefined };
    this.candidates.set(memberId, candidate);
    const election = coord.election(name);
    void (async () => {
      while (!candidate.stopped && !this.crashed) {
        try {
          const leadership = await election.campaign();
          const at = now();
          candidate.leadership = leadership;
          this.emit({ event: "elected", memberId, token: String(leadership.token), at });
          await new Promise<void>((resolve) => {
            if (leadership.signal.aborted) resolve();
            else leadership.signal.addEventListener("abort", () => resolve(), { once: true });
          });
          candidate.leadership = undefined;
          this.emit({ event: "deposed", memberId, at: now() });
        } catch (error) {
          if (candidate.stopped || this.crashed) return;
          this.emit({ event: "error", where: "campaign", memberId, message: message(error), at: now() });
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    })();
  }

  private async resign(memberId: string) {
    const candidate = this.candidates.get(memberId);
    const leadership = candidate?.leadership;
    if (!candidate || !leadership) throw new Error(`${memberId} holds no leadership`);
    // Resigning withdraws the candidacy; the harness campaigns again when it wants this one back.
    candidate.stopped = true;
    const startedAt = now();
    await leadership.resign();
    return { startedAt, endedAt: now() };
  }

  /**
   * Joins and leaves `group` as fast as each coordinator can until `durationMs` passed. With `record`,
   * every successful operation is returned as `[memberId, "join" | "leave", seq, startedAt, endedAt]`
   * (a leave carries the seq of the membership it ended), so a watcher's events can be matched to them.
   */
  private async churn(group: string, memberIds: string[], durationMs: number, record: boolean) {
    const deadline = now() + durationMs;
    let joins = 0;
    let leaves = 0;
    let errors = 0;
    let firstError: string | undefined;
    const ops: [string, "join" | "leave", string, number, number][] = [];
    const ms = (t: number) => Math.round(t * 1000) / 1000;
    const startedAt = now();
    await Promise.all(
      memberIds.map(async (memberId) => {
        const coord = this.coord(memberId);
        let joined = this.churnJoined.get(memberId) ?? false;
        while (now() < deadline) {
          const opStarted = now();
          try {
            if (joined) {
              await coord.leave(group);
              leaves++;
              if (record)
                ops.push([memberId, "leave", this.churnSeq.get(memberId) ?? "", ms(opStarted), ms(now())]);
            } else {
              const member = await coord.join(group, { createGroup: true });
              joins++;
              const seq = member.seq.toString();
              this.churnSeq.set(memberId, seq);
              if (record) ops.push([memberId, "join", seq, ms(opStarted), ms(now())]);
            }
            joined = !joined;
          } catch (error) {
            errors++;
            firstError ??= message(error);
            await new Promise((r) => setTimeout(r, 20));
          }
        }
        this.churnJoined.set(memberId, joined);
      }),
    );
    return { startedAt, endedAt: now(), joins, leaves, errors, firstError, ...(record ? { ops } : {}) };
  }

  /**
   * Stops keeping this agent's sessions alive without telling anyone, as a SIGKILL would: `freeze`
   * is the memory backend's hook for that. Watches and campaigns stop reporting.
   */
  crash(freeze: (memberId: string) => void): void {
    this.crashed = true;
    for (const controller of this.watches) controller.abort();
    this.config.stop();
    for (const memberId of this.coords.keys()) freeze(memberId);
  }

  /** Closes coordinators (all by default): they leave, resign and end their sessions. */
  async close(memberIds: string[] = this.memberIds()): Promise<void> {
    const set = new Set(memberIds);
    for (const [memberId, candidate] of this.candidates) {
      if (set.has(memberId)) candidate.stopped = true;
    }
    if (set.size === this.coords.size) {
      for (const controller of this.watches) controller.abort();
      this.watches.clear();
      this.config.stop();
    }
    await this.reactors.close([...set]);
    for (const [key, entry] of this.views) {
      if (set.has(key.split("\0")[0] ?? "")) {
        await entry.view.close().catch(() => {});
        this.views.delete(key);
      }
    }
    await mapLimit([...set], 20, async (memberId) => {
      const coord = this.coords.get(memberId);
      this.coords.delete(memberId);
      await coord?.close().catch(() => {});
    });
  }
}
