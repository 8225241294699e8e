import {
  type Coordinator,
  REACTOR_CONFIG,
  type Reactor,
  type ReactorHandler,
  type ReactorOptions,
  RollcallError,
  reactorStatus,
} from "@rollcall/core";
import { now, sleep } from "../clock.js";
import { NOT_SUPPORTED } from "./config-protocol.js";
import type {
  ReactorKnownRequest,
  ReactorStartRequest,
  ReactorStartResult,
  ReactorStatusRequest,
  ReactorStatusResult,
  ReactorWaitPendingRequest,
  ReactorWaitPendingResult,
} from "./reactor-protocol.js";

type Emit = (event: Record<string, unknown>) => void;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The reactor scenario's commands (see reactor-protocol.ts) on a rollcall agent's coordinators: reactors
 * whose handler only reports that it started (then resolves), and reads of what a reactor stored.
 */
export class ReactorCommands {
  /** The reactors started, by the member id of their coordinator. */
  private readonly reactors = new Map<string, Reactor[]>();

  constructor(
    private readonly coord: (memberId: string) => Coordinator,
    private readonly emit: Emit,
  ) {}

  /** Runs a `reactor*` command. */
  handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
    switch (cmd) {
      case "reactorStart":
        return this.start(args as unknown as ReactorStartRequest);
      case "reactorKnown":
        return this.known(args as unknown as ReactorKnownRequest);
      case "reactorWaitPending":
        return this.waitPending(args as unknown as ReactorWaitPendingRequest);
      case "reactorStatus":
        return this.status(args as unknown as ReactorStatusRequest);
      default:
        return Promise.reject(new Error(`unknown command ${cmd}`));
    }
  }

  /** Closes the reactors of these coordinators (all by default): they resign their elections. */
  async close(memberIds?: readonly string[]): Promise<void> {
    const ids = memberIds ?? [...this.reactors.keys()];
    const closing: Promise<void>[] = [];
    for (const id of ids) {
      for (const reactor of this.reactors.get(id) ?? []) closing.push(reactor.close().catch(() => {}));
      this.reactors.delete(id);
    }
    await Promise.all(closing);
  }

  private async start(request: ReactorStartRequest): Promise<ReactorStartResult> {
    const coord = this.coord(request.memberId);
    const states: Record<string, string> = {};
    for (const spec of request.reactors) {
      const name = spec.name;
      // The moment measured: the handler was entered. It does nothing else, so it never fails.
      const handler: ReactorHandler = (departure, context) => {
        const at = now();
        this.emit({
          event: "reactor",
          type: "start",
          name,
          key: departure.key,
          memberId: departure.memberId,
          reason: departure.reason,
          attempt: context.attempt,
          token: String(context.token),
          at,
        });
        return Promise.resolve();
      };
      const options: ReactorOptions = {
        name,
        ...(spec.grace === undefined ? {} : { grace: spec.grace }),
        ...(spec.brake === false ? { brake: false as const } : {}),
      };
      let reactor: Reactor;
      try {
        reactor = await coord.reactor(request.group, handler, options);
      } catch (error) {
        // A backend without a configuration store has no reactor: the harness records the run as skipped.
        if (RollcallError.hasCode(error, "NOT_SUPPORTED"))
          throw new Error(`${NOT_SUPPORTED}: ${error.message}`);
        throw error;
      }
      reactor.on("state", (state) => this.emit({ event: "reactor", type: "state", name, state, at: now() }));
      reactor.on("handled", (departure, ms) =>
        this.emit({ event: "reactor", type: "handled", name, key: departure.key, ms, at: now() }),
      );
      reactor.on("failed", (departure, error, attempt) =>
        this.emit({
          event: "reactor",
          type: "failed",
          name,
          key: departure.key,
          attempt,
          message: message(error),
          at: now(),
        }),
      );
      reactor.on("braked", (status) =>
        this.emit({
          event: "reactor",
          type: "braked",
          name,
          departures: status.departures,
          size: status.size,
          at: now(),
        }),
      );
      reactor.on("released", (by) => this.emit({ event: "reactor", type: "released", name, by, at: now() }));
      const list = this.reactors.get(request.memberId) ?? [];
      list.push(reactor);
      this.reactors.set(request.memberId, list);
      states[name] = reactor.state;
    }
    return { states };
  }

  private async known(request: ReactorKnownRequest): Promise<{ at: number }> {
    const store = this.coord(request.memberId).config(REACTOR_CONFIG);
    const deadline = now() + request.timeoutMs;
    const missing = new Set(
      request.names.flatMap((name) => request.memberIds.map((id) => `${name}/known/${id}`)),
    );
    for (;;) {
      for (const key of [...missing]) if ((await store.get(key)) !== undefined) missing.delete(key);
      if (missing.size === 0) return { at: now() };
      if (now() > deadline)
        throw new Error(
          `the reactors did not record ${missing.size} members within ${request.timeoutMs} ms (first: ${[...missing][0]})`,
        );
      await sleep(request.intervalMs ?? 50);
    }
  }

  private async waitPending(request: ReactorWaitPendingRequest): Promise<ReactorWaitPendingResult> {
    const coord = this.coord(request.memberId);
    const deadline = now() + request.timeoutMs;
    for (;;) {
      const status = await reactorStatus(coord, request.name);
      const found = status.pending.find((d) => d.memberId === request.target);
      if (found) return { key: found.key, at: now() };
      if (now() > deadline)
        throw new Error(
          `reactor ${request.name} stored no pending departure of ${request.target} within ${request.timeoutMs} ms`,
        );
      await sleep(request.intervalMs ?? 50);
    }
  }

  private async status(request: ReactorStatusRequest): Promise<ReactorStatusResult> {
    const status = await reactorStatus(this.coord(request.memberId), request.name);
    return {
      token: String(status.token),
      braked: status.brake?.engaged === true,
      pending: status.pending.map((d) => d.key),
    };
  }
}
