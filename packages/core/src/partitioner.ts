import type { GroupView } from "./api.js";
import { HashRing } from "./hash-ring.js";
import { Listeners } from "./internal/listeners.js";
import { silentLogger } from "./internal/silent-logger.js";
import type { MembershipEvent } from "./types.js";

/** Options of a {@link Partitioner}. */
export interface PartitionerOptions {
  /** This process's member id (for {@link Partitioner.belongsToSelf}). */
  self: string;
  /** Replicas per object (default 1). */
  replicas?: number;
  /** Ring points per unit of weight (default 32). */
  partitionsPerNode?: number;
}

/**
 * Splits objects among the live members of a group with a {@link HashRing} kept current from a
 * {@link GroupView}: a member's weight is its metadata's `weight` (a positive integer, default 1).
 * Emits `rebalance` after every membership change.
 *
 * @example
 * ```ts
 * const partitioner = new Partitioner(await coord.view("workers"), { self: coord.memberId });
 * partitioner.on("rebalance", () => reassign());
 * if (partitioner.belongsToSelf(jobId)) run(jobId);
 * ```
 */
export class Partitioner {
  private ring: HashRing;
  private readonly rebalances = new Listeners<[]>();
  private readonly onChange: (event: MembershipEvent) => void;
  private readonly replicas: number;
  private readonly partitionsPerNode: number;

  constructor(
    private readonly view: GroupView,
    private readonly options: PartitionerOptions,
  ) {
    this.replicas = options.replicas ?? 1;
    this.partitionsPerNode = options.partitionsPerNode ?? 32;
    this.ring = this.build();
    this.onChange = () => {
      this.ring = this.build();
      this.rebalances.emit(silentLogger, "rebalance");
    };
    view.on("change", this.onChange);
  }

  private build(): HashRing {
    const weights = new Map<string, number>();
    for (const member of this.view.members()) {
      const weight = member.metadata.weight;
      weights.set(
        member.id,
        typeof weight === "number" && Number.isInteger(weight) && weight >= 1 && weight <= 1000 ? weight : 1,
      );
    }
    const ring = new HashRing([], this.partitionsPerNode);
    ring.addNodes(weights);
    return ring;
  }

  /** The members responsible for `key`, first owner first. */
  membersFor(key: string, options: { replicas?: number; ignore?: Iterable<string> } = {}): string[] {
    return [
      ...this.ring.getNodes(key, {
        replicas: options.replicas ?? this.replicas,
        ...(options.ignore ? { ignore: options.ignore } : {}),
      }),
    ];
  }

  /** Whether this process is among the members responsible for `key`. */
  belongsToSelf(key: string): boolean {
    return this.membersFor(key).includes(this.options.self);
  }

  /** Whether `memberId` is among the members responsible for `key`. */
  belongsTo(key: string, memberId: string): boolean {
    return this.membersFor(key).includes(memberId);
  }

  /** Called after every membership change, once the ring is rebuilt. */
  on(event: "rebalance", listener: () => void): this {
    if (event === "rebalance") this.rebalances.add(listener);
    return this;
  }

  /** Removes a rebalance listener. */
  off(event: "rebalance", listener: () => void): this {
    if (event === "rebalance") this.rebalances.remove(listener);
    return this;
  }

  /** Stops following the view (the view stays open). */
  close(): void {
    this.view.off("change", this.onChange);
  }
}
