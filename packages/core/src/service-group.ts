import type { Coordinator, GroupView } from "./api.js";
import type { Metadata } from "./types.js";
import { validateGroupName, validateMemberId } from "./validation.js";

/**
 * Nova's servicegroup API on any backend: services `join` a group; `isUp` and `getAll` are answered
 * from a cached, watch-driven view of the group (one per group, opened on first use), so a scheduler
 * can ask thousands of times a second without a round trip.
 *
 * @example
 * ```ts
 * const servicegroup = new ServiceGroup(coord);
 * await servicegroup.join("compute", { cpus: 64 });
 * if (await servicegroup.isUp("compute", "compute-17")) { … }
 * ```
 */
export class ServiceGroup {
  private readonly views = new Map<string, Promise<GroupView>>();

  constructor(private readonly coordinator: Coordinator) {}

  /** Joins `group` as the coordinator's member id, creating the group if needed. */
  async join(group: string, metadata?: Metadata): Promise<void> {
    await this.coordinator.join(group, {
      createGroup: true,
      ...(metadata === undefined ? {} : { metadata }),
    });
  }

  /** Leaves `group`. */
  async leave(group: string): Promise<void> {
    await this.coordinator.leave(group);
  }

  /** Whether `memberId` is up in `group`, from the cached view. */
  async isUp(group: string, memberId: string): Promise<boolean> {
    validateMemberId(memberId);
    return (await this.view(group)).isUp(memberId);
  }

  /** The ids of every member up in `group`, from the cached view, in `seq` order. */
  async getAll(group: string): Promise<string[]> {
    return (await this.view(group)).members().map((m) => m.id);
  }

  /** The cached view behind `isUp` and `getAll`. */
  view(group: string): Promise<GroupView> {
    validateGroupName(group);
    let view = this.views.get(group);
    if (!view) {
      view = this.coordinator.view(group);
      this.views.set(group, view);
      view.catch(() => this.views.delete(group));
    }
    return view;
  }

  /** Closes the cached views (not the coordinator). */
  async close(): Promise<void> {
    const views = [...this.views.values()];
    this.views.clear();
    await Promise.allSettled(views.map(async (v) => (await v).close()));
  }
}
