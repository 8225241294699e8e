import { randomId, sleep } from "../clock.js";
import type { Subject } from "../subjects.js";
import { addSample, type ScenarioContext } from "./scenario.js";

/** What one round of the churners reports. */
export interface ChurnRound {
  startedAt: number;
  endedAt: number;
  joins: number;
  leaves: number;
  errors: number;
  firstError?: string;
}

interface ViewCheck {
  equal: boolean;
  viewSize: number;
  membersSize: number;
  missing: string[];
  extra: string[];
  changes: number;
}

/**
 * churn: 50 coordinators in one process join and leave one group as fast as they can; a watcher in
 * another process keeps a view. Throughput = joins + leaves per second; at the end the view must equal
 * `members()` (and how long it took to get there is reported).
 */
export async function churn(subject: Subject, ctx: ScenarioContext): Promise<void> {
  const { settings, scope, result } = ctx;
  const url = subject.url(`bench-churn-${randomId()}`);
  const group = `churn-${randomId()}`;
  const ids = Array.from({ length: settings.churn.coordinators }, (_, i) => `churner-${i + 1}`);
  const [watcher, churners] = await Promise.all([
    scope.spawn(subject, "watcher"),
    scope.spawn(subject, "churners"),
  ]);
  await watcher.request("connect", { url, memberIds: ["watcher"], sessionTimeout: subject.sessionTimeoutMs });
  await watcher.request("view", { memberId: "watcher", group });
  await churners.request(
    "connect",
    { url, memberIds: ids, sessionTimeout: subject.sessionTimeoutMs },
    120_000,
  );
  let changes = 0;
  let errors = 0;
  for (let round = 0; round < settings.churn.rounds; round++) {
    ctx.step(
      `round ${round + 1}/${settings.churn.rounds}: ${ids.length} coordinators, ${settings.churn.durationMs} ms`,
    );
    const r = await churners.request<ChurnRound>(
      "churn",
      { group, memberIds: ids, durationMs: settings.churn.durationMs },
      settings.churn.durationMs + 120_000,
    );
    const ops = r.joins + r.leaves;
    changes += ops;
    errors += r.errors;
    addSample(result, "opsPerSecond", ops / ((r.endedAt - r.startedAt) / 1000));
    if (r.firstError) result.notes.push(`churn error (${r.errors} in round ${round + 1}): ${r.firstError}`);
  }
  result.values.errors = errors;
  result.values.changes = changes;
  // The view must converge to members(): poll until it does, within a bound.
  const settleStart = performance.now();
  const bound = 3 * subject.sessionTimeoutMs + 10_000;
  let check: ViewCheck | undefined;
  while (performance.now() - settleStart < bound) {
    check = await watcher.request<ViewCheck>("viewCheck", { memberId: "watcher", group });
    if (check.equal) break;
    await sleep(100);
  }
  result.values.converged = check?.equal ?? false;
  result.values.settleMs = performance.now() - settleStart;
  result.values.finalMembers = check?.membersSize ?? -1;
  if (check && check.changes >= 0) result.values.viewChanges = check.changes;
  if (check && !check.equal) {
    result.notes.push(
      `view did not converge within ${bound} ms: view ${check.viewSize} vs members() ${check.membersSize}; missing ${check.missing.join(",")} extra ${check.extra.join(",")}`,
    );
  }
}
