import { type Departure, type Reactor, type ReactorState, RollcallError } from "@rollcall/core";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { DEFAULT_PREFIX, type MetricDefinition } from "./coordinator-metrics.js";
import { bucketsOption, checkNamesFree, msOption, prefixOption, registryOption } from "./metric-options.js";

/** Buckets (seconds) of the reactor handler histogram: 10 ms to 30 min (an evacuation can take minutes). */
export const HANDLER_BUCKETS: readonly number[] = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800];

/**
 * Every metric {@link reactorMetrics} registers, by name without the prefix (`rollcall_` by default):
 * its type, labels and help text. Labelled by the reactor's name, never by a member id.
 */
export const REACTOR_METRICS = {
  /** `rollcall_reactor_state{reactor,state}` (gauge): 1 for the reactor's state in this process, 0 for the other three; read when scraped. */
  reactor_state: {
    type: "gauge",
    labels: ["reactor", "state"],
    help: "1 for the reactor's state in this process (standby, acting, braked, closed), 0 for the others.",
  },
  /**
   * `rollcall_reactor_braked{reactor}` (gauge): 1 while the mass-failure brake holds the reactor. The
   * acting process answers from memory; a standing-by one from the stored brake (read when scraped).
   */
  reactor_braked: {
    type: "gauge",
    labels: ["reactor"],
    help: "1 while the reactor's mass-failure brake is engaged (no handler runs until an operator releases it or the group recovers), else 0.",
  },
  /** `rollcall_reactor_handled_total{reactor}` (counter): departures this process handled and recorded (the `handled` event). */
  reactor_handled_total: {
    type: "counter",
    labels: ["reactor"],
    help: "Departures this process's reactor handled and recorded as done (once per departed member incarnation across the cluster).",
  },
  /** `rollcall_reactor_failures_total{reactor}` (counter): handler runs that threw (the `failed` event); each is retried. */
  reactor_failures_total: {
    type: "counter",
    labels: ["reactor"],
    help: "Handler runs of this process's reactor that failed (threw); each failed departure is retried with backoff.",
  },
  /** `rollcall_reactor_handler_seconds{reactor}` (histogram): run time of the handler runs that succeeded. */
  reactor_handler_seconds: {
    type: "histogram",
    labels: ["reactor"],
    help: "Run time of the reactor's handler, for the runs that succeeded, in seconds.",
  },
  /** `rollcall_reactor_pending{reactor}` (gauge): departures recorded and not yet handled, read from the store when scraped. */
  reactor_pending: {
    type: "gauge",
    labels: ["reactor"],
    help: "Departures recorded and not yet handled (from the configuration store: the same in every process).",
  },
} as const satisfies Record<string, MetricDefinition>;

/** The name of a metric of {@link REACTOR_METRICS}, without the prefix. */
export type ReactorMetricName = keyof typeof REACTOR_METRICS;

/** Default of {@link ReactorMetricsOptions.readTimeout}: ms a scrape waits for the store. */
export const DEFAULT_READ_TIMEOUT = 2000;
/** Default of {@link ReactorMetricsOptions.readInterval}: ms between two store reads per reactor. */
export const DEFAULT_READ_INTERVAL = 5000;

const REACTOR_STATES: readonly ReactorState[] = ["standby", "acting", "braked", "closed"];

/** Options of {@link reactorMetrics}. */
export interface ReactorMetricsOptions {
  /** The `prom-client` registry to register in (the coordinator's metrics may be in it too). */
  registry: Registry;
  /** Prefix of every metric name (default `rollcall_`). */
  prefix?: string;
  /** Buckets (seconds) of the handler run-time histogram; default {@link HANDLER_BUCKETS}. */
  handlerBuckets?: readonly number[];
  /**
   * Longest time (ms) a scrape waits for the store (the pending departures and the stored brake); the
   * series are left out of that scrape when the read takes longer or fails. Default 2000, 10–60000.
   */
  readTimeout?: number;
  /**
   * Shortest time (ms) between two reads of the store for one reactor: scrapes in between answer from
   * the last read, so a flood of scrapes costs the backend one read per interval. Default 5000, 0–600000.
   */
  readInterval?: number;
}

/** The metrics of one or more reactors, registered in the registry given; dispose to unregister them. */
export interface ReactorMetrics extends AsyncDisposable {
  /** The registry the metrics are in. */
  readonly registry: Registry;
  /** The full names of the metrics registered (with the prefix). */
  readonly metricNames: readonly string[];
  /**
   * Reports another reactor (its name is its label) until the returned function is called or the
   * metrics are closed; the reactor stays the application's to close. A reactor already reported
   * changes nothing; another reactor of the same name is `INVALID_ARGUMENT`.
   */
  track(reactor: Reactor): () => void;
  /** Stops reporting and removes the metrics from the registry. Idempotent; the reactors go on. */
  close(): Promise<void>;
}

/** What the store said at the last read: pending departures and the stored brake. */
interface StoredView {
  pending: number;
  braked: boolean;
}

/** One reactor reported: its listeners and its reads of the store. */
class TrackedReactor {
  /** The last read, if it succeeded (`undefined` after a failure, until a read succeeds). */
  private last: StoredView | undefined;
  private reading: Promise<void> | undefined;
  private startedAt: number | undefined;

  constructor(
    readonly reactor: Reactor,
    readonly listeners: {
      handled: (departure: Departure, ms: number) => void;
      failed: () => void;
    },
    private readonly readTimeout: number,
    private readonly readInterval: number,
  ) {}

  /**
   * The stored view for a scrape, waiting at most `readTimeout`: the last read when it is younger than
   * `readInterval`, else a new one (shared by the scrapes that ask meanwhile); `undefined` when the read
   * failed or takes longer.
   */
  async stored(): Promise<StoredView | undefined> {
    if (
      this.reading === undefined &&
      (this.startedAt === undefined || performance.now() - this.startedAt >= this.readInterval)
    ) {
      this.startedAt = performance.now();
      const reading: Promise<void> = Promise.all([this.reactor.pending(), this.reactor.brake()])
        .then(
          ([pending, brake]) => {
            this.last = { pending: pending.length, braked: brake?.engaged === true };
          },
          () => {
            this.last = undefined;
          },
        )
        .finally(() => {
          if (this.reading === reading) this.reading = undefined;
        });
      this.reading = reading;
    }
    if (this.reading !== undefined && !(await settles(this.reading, this.readTimeout))) return undefined;
    return this.last;
  }
}

/** Whether `promise` settles within `ms` (the timer never holds the process open). */
async function settles(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Instruments reactors (`coord.reactor(...)`) with Prometheus metrics in the given registry, labelled by
 * the reactor's name (see the package README for the table): its state, the brake, handled and failed
 * departures, the handler's run time (from the reactor's `handled` and `failed` events) and the pending
 * departures (read from the configuration store when scraped, bounded by `readTimeout` and at most once
 * per `readInterval`). More reactors with {@link ReactorMetrics.track}.
 *
 * `INVALID_ARGUMENT` when the registry already holds a metric of the same name (one per registry and
 * prefix: track every reactor of the process with the same one), when two reactors share a name, or an
 * option is malformed.
 */
export function reactorMetrics(
  reactors: Reactor | readonly Reactor[],
  options: ReactorMetricsOptions,
): ReactorMetrics {
  return new ReactorInstrumentation(Array.isArray(reactors) ? reactors : [reactors as Reactor], options);
}

class ReactorInstrumentation implements ReactorMetrics {
  readonly registry: Registry;
  readonly metricNames: readonly string[];
  private readonly tracked = new Map<string, TrackedReactor>();
  private readonly readTimeout: number;
  private readonly readInterval: number;
  private closed = false;

  // The metrics, documented in the README's table.
  /** `rollcall_reactor_state{reactor,state}`: 1 for the state in this process, 0 for the others. */
  private readonly state: Gauge<"reactor" | "state">;
  /** `rollcall_reactor_braked{reactor}`: 1 while the brake is engaged. */
  private readonly braked: Gauge<"reactor">;
  /** `rollcall_reactor_handled_total{reactor}`: departures handled and recorded here. */
  private readonly handled: Counter<"reactor">;
  /** `rollcall_reactor_failures_total{reactor}`: handler runs that threw here. */
  private readonly failures: Counter<"reactor">;
  /** `rollcall_reactor_handler_seconds{reactor}`: run time of the successful handler runs. */
  private readonly handlerSeconds: Histogram<"reactor">;
  /** `rollcall_reactor_pending{reactor}`: departures recorded and not yet handled (the store). */
  private readonly pending: Gauge<"reactor">;

  constructor(reactors: readonly Reactor[], options: ReactorMetricsOptions) {
    const registry = registryOption(options, "reactorMetrics");
    this.registry = registry;
    const prefix = prefixOption(options.prefix ?? DEFAULT_PREFIX);
    const handlerBuckets = bucketsOption("handlerBuckets", options.handlerBuckets ?? HANDLER_BUCKETS);
    this.readTimeout = msOption("readTimeout", options.readTimeout, DEFAULT_READ_TIMEOUT, 10, 60_000);
    this.readInterval = msOption("readInterval", options.readInterval, DEFAULT_READ_INTERVAL, 0, 600_000);
    for (const reactor of reactors) checkReactor(reactor);
    const names = Object.keys(REACTOR_METRICS).map((name) => prefix + name);
    checkNamesFree(
      registry,
      names,
      "one reactorMetrics() per registry and prefix (track() the process's other reactors with it)",
    );
    this.metricNames = names;
    const registers = [registry];
    const n = (name: ReactorMetricName) => prefix + name;

    this.state = new Gauge({
      name: n("reactor_state"),
      help: REACTOR_METRICS.reactor_state.help,
      labelNames: ["reactor", "state"],
      registers,
      collect: () => {
        for (const [reactor, tracked] of this.tracked) {
          const current = tracked.reactor.state;
          for (const state of REACTOR_STATES) this.state.set({ reactor, state }, state === current ? 1 : 0);
        }
      },
    });
    this.braked = new Gauge({
      name: n("reactor_braked"),
      help: REACTOR_METRICS.reactor_braked.help,
      labelNames: ["reactor"],
      registers,
      collect: () => this.eachTracked((reactor, tracked) => this.collectBraked(reactor, tracked)),
    });
    this.handled = new Counter({
      name: n("reactor_handled_total"),
      help: REACTOR_METRICS.reactor_handled_total.help,
      labelNames: ["reactor"],
      registers,
    });
    this.failures = new Counter({
      name: n("reactor_failures_total"),
      help: REACTOR_METRICS.reactor_failures_total.help,
      labelNames: ["reactor"],
      registers,
    });
    this.handlerSeconds = new Histogram({
      name: n("reactor_handler_seconds"),
      help: REACTOR_METRICS.reactor_handler_seconds.help,
      labelNames: ["reactor"],
      buckets: handlerBuckets,
      registers,
    });
    this.pending = new Gauge({
      name: n("reactor_pending"),
      help: REACTOR_METRICS.reactor_pending.help,
      labelNames: ["reactor"],
      registers,
      collect: () => this.eachTracked((reactor, tracked) => this.collectPending(reactor, tracked)),
    });
    for (const reactor of reactors) this.track(reactor);
  }

  private async eachTracked(
    collect: (reactor: string, tracked: TrackedReactor) => Promise<void>,
  ): Promise<void> {
    await Promise.all([...this.tracked].map(([reactor, tracked]) => collect(reactor, tracked)));
  }

  /** The acting process knows from memory; a standing-by one asks the store; a closed one says nothing. */
  private async collectBraked(reactor: string, tracked: TrackedReactor): Promise<void> {
    const state = tracked.reactor.state;
    if (state === "acting" || state === "braked") {
      this.braked.set({ reactor }, state === "braked" ? 1 : 0);
      return;
    }
    const stored = state === "closed" ? undefined : await tracked.stored();
    if (this.tracked.get(reactor) !== tracked) return;
    if (stored === undefined) this.braked.remove({ reactor });
    else this.braked.set({ reactor }, stored.braked ? 1 : 0);
  }

  private async collectPending(reactor: string, tracked: TrackedReactor): Promise<void> {
    const stored = tracked.reactor.state === "closed" ? undefined : await tracked.stored();
    if (this.tracked.get(reactor) !== tracked) return;
    if (stored === undefined) this.pending.remove({ reactor });
    else this.pending.set({ reactor }, stored.pending);
  }

  track(reactor: Reactor): () => void {
    checkReactor(reactor);
    if (this.closed) throw new RollcallError("NOT_CONNECTED", "these reactor metrics were closed");
    const name = reactor.name;
    const existing = this.tracked.get(name);
    if (existing?.reactor === reactor) return () => {};
    if (existing !== undefined) {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `a reactor named ${name} is already reported: its name is the label, so it must be unique per registry`,
      );
    }
    const tracked = new TrackedReactor(
      reactor,
      {
        handled: (_departure, ms) => {
          this.handled.inc({ reactor: name });
          this.handlerSeconds.observe({ reactor: name }, ms / 1000);
        },
        failed: () => this.failures.inc({ reactor: name }),
      },
      this.readTimeout,
      this.readInterval,
    );
    this.tracked.set(name, tracked);
    // Counters start at 0, so increase() and rate() see the first departure.
    this.handled.inc({ reactor: name }, 0);
    this.failures.inc({ reactor: name }, 0);
    reactor.on("handled", tracked.listeners.handled);
    reactor.on("failed", tracked.listeners.failed);
    return () => {
      if (this.tracked.get(name) === tracked) this.untrack(name, tracked);
    };
  }

  private untrack(name: string, tracked: TrackedReactor): void {
    tracked.reactor.off("handled", tracked.listeners.handled);
    tracked.reactor.off("failed", tracked.listeners.failed);
    this.tracked.delete(name);
    const reactor = name;
    for (const state of REACTOR_STATES) this.state.remove({ reactor, state });
    this.braked.remove({ reactor });
    this.handled.remove({ reactor });
    this.failures.remove({ reactor });
    this.handlerSeconds.remove({ reactor });
    this.pending.remove({ reactor });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [name, tracked] of [...this.tracked]) this.untrack(name, tracked);
    for (const name of this.metricNames) this.registry.removeSingleMetric(name);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function checkReactor(reactor: Reactor): void {
  if (
    typeof reactor !== "object" ||
    reactor === null ||
    typeof reactor.on !== "function" ||
    typeof reactor.off !== "function" ||
    typeof reactor.pending !== "function" ||
    typeof reactor.brake !== "function" ||
    typeof reactor.name !== "string"
  ) {
    throw new RollcallError("INVALID_ARGUMENT", "reactorMetrics needs a Reactor (from coord.reactor())");
  }
}
