import type { RunningBackend } from "../backends/backend-spec.js";
import { randomId, sleep } from "../clock.js";
import type { Subject } from "../subjects.js";
import { measureCostWindow } from "./cost-window.js";
import { type SteadyShape, startIdleMembers } from "./idle-members.js";
import type { ScenarioContext } from "./scenario.js";

/**
 * steady cost: 1,000 idle members and one consumer holding a view of their group(s), measured for a
 * window. Shape `per-member`: one session (coordinator) per member, spread over several client
 * processes. Shape `shared`: 100 sessions, each a member of 10 groups (a coordinator is one member id,
 * so sharing a session means sharing it across groups); the consumer views all 10 groups.
 */
export async function steady(
  subject: Subject,
  backend: RunningBackend,
  shape: SteadyShape,
  ctx: ScenarioContext,
) {
  const { settings, result } = ctx;
  const s = settings.steady;
  const idle = await startIdleMembers(
    subject,
    backend,
    shape,
    subject.url(`bench-steady-${randomId()}`),
    ctx,
  );
  ctx.step(`all joined (consumer sees ${result.values.viewedMembers}); warming up ${s.warmupMs} ms`);
  await sleep(s.warmupMs);
  await measureCostWindow({
    backend,
    clientPids: idle.clientPids,
    inProcess: backend.inProcess,
    windowMs: s.windowMs,
    sliceMs: s.sliceMs,
    result,
    step: ctx.step,
  });
  ctx.step("closing the members");
}
