import { type Configuration, type Coordinator, RollcallError } from "@rollcall/core";
import { now, randomInt, sleep } from "../clock.js";
import {
  type ConfigCasRequest,
  type ConfigCasResult,
  type ConfigGetResult,
  type ConfigSetRequest,
  type ConfigSetsRequest,
  type ConfigSetsResult,
  type ConfigWatchRequest,
  NOT_SUPPORTED,
} from "./config-protocol.js";

type Emit = (event: Record<string, unknown>) => void;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Resolves on the next turn of the event loop. */
export function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * `coord.config(name)`, with a backend that has no configuration store reported as `NOT_SUPPORTED: …`
 * (the harness records the run as skipped).
 */
export function openStore(coord: Coordinator, name: string): Configuration {
  try {
    return coord.config(name);
  } catch (error) {
    if (RollcallError.hasCode(error, "NOT_SUPPORTED")) throw new Error(`${NOT_SUPPORTED}: ${error.message}`);
    throw error;
  }
}

/**
 * The config scenario's commands (see config-protocol.ts) on a rollcall agent's coordinators: watches that
 * report every event with the host clock, paced writes, compare-and-set increments under contention.
 */
export class ConfigCommands {
  private readonly watches = new Set<AbortController>();

  constructor(
    private readonly coord: (memberId: string) => Coordinator,
    private readonly emit: Emit,
  ) {}

  /** Runs a `config*` command. */
  handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
    switch (cmd) {
      case "configWatch":
        return this.watch(args as unknown as ConfigWatchRequest);
      case "configSets":
        return this.sets(args as unknown as ConfigSetsRequest);
      case "configSet":
        return this.set(args as unknown as ConfigSetRequest);
      case "configGet":
        return this.get(args.memberId as string, args.store as string, args.key as string);
      case "configCas":
        return this.cas(args as unknown as ConfigCasRequest);
      default:
        return Promise.reject(new Error(`unknown command ${cmd}`));
    }
  }

  /** Ends every watch. */
  stop(): void {
    for (const controller of this.watches) controller.abort();
    this.watches.clear();
  }

  private async watch(request: ConfigWatchRequest): Promise<{ size: number; at: number }> {
    const store = openStore(this.coord(request.memberId), request.store);
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
        for await (const event of store.watch({ signal: controller.signal })) {
          const at = now();
          const resync = event.type !== "snapshot" && event.resync ? { resync: true } : {};
          if (event.type === "snapshot") {
            resolveSnapshot(event.entries.length);
            this.emit({ event: "config", type: "snapshot", size: event.entries.length, at });
          } else if (event.type === "put") {
            const version = String(event.entry.version);
            this.emit({ event: "config", type: "put", key: event.entry.key, version, ...resync, at });
          } else {
            const version = String(event.revision);
            this.emit({ event: "config", type: "delete", key: event.key, version, ...resync, at });
          }
        }
      } catch (error) {
        rejectSnapshot(error);
        if (!controller.signal.aborted)
          this.emit({ event: "error", where: "configWatch", message: message(error), at: now() });
      }
    })();
    const size = await snapshot;
    return { size, at: now() };
  }

  private async sets(request: ConfigSetsRequest): Promise<ConfigSetsResult> {
    const store = openStore(this.coord(request.memberId), request.store);
    const sets: [string, number, number][] = [];
    for (let i = 0; i < request.count; i++) {
      await sleep(randomInt(request.maxGapMs + 1));
      const startedAt = now();
      const version = await store.set(request.key, { n: i });
      sets.push([String(version), startedAt, now()]);
    }
    return { sets };
  }

  private async set(request: ConfigSetRequest): Promise<{ version: string }> {
    const store = openStore(this.coord(request.memberId), request.store);
    return { version: String(await store.set(request.key, request.value)) };
  }

  private async get(memberId: string, name: string, key: string): Promise<ConfigGetResult> {
    const entry = await openStore(this.coord(memberId), name).get(key);
    return entry === undefined ? {} : { value: entry.value, version: String(entry.version) };
  }

  /** Every writer: read the counter, write it + 1 if its version is still the one read; until the deadline. */
  private async cas(request: ConfigCasRequest): Promise<ConfigCasResult> {
    const stores = request.memberIds.map((memberId) => openStore(this.coord(memberId), request.store));
    const deadline = request.startAt + request.durationMs;
    await sleep(Math.max(0, request.startAt - now()));
    let conflicts = 0;
    let errors = 0;
    let firstError: string | undefined;
    const startedAt = now();
    const written = await Promise.all(
      stores.map(async (store) => {
        const mine: number[] = [];
        while (now() < deadline) {
          // One attempt per turn of the event loop: an in-process store (memory://) answers in microtasks,
          // and a writer that never yields would starve the others (and the timers).
          await yieldTurn();
          try {
            const entry = await store.get(request.key);
            const next = (typeof entry?.value === "number" ? entry.value : 0) + 1;
            await store.set(request.key, next, { ifVersion: entry?.version ?? 0n });
            mine.push(next);
          } catch (error) {
            if (RollcallError.hasCode(error, "VERSION_MISMATCH")) {
              conflicts++;
              continue;
            }
            errors++;
            firstError ??= message(error);
            await sleep(20);
          }
        }
        return mine;
      }),
    );
    const successes = written.reduce((n, w) => n + w.length, 0);
    return {
      startedAt,
      endedAt: now(),
      successes,
      conflicts,
      errors,
      ...(firstError ? { firstError } : {}),
      written,
    };
  }
}
