import type { Agent } from "../agents/agent.js";
import { randomId, sleep } from "../clock.js";
import type { Subject } from "../subjects.js";
import { startMember, startWatcher, watchEvent } from "./participants.js";
import { addSample, type ScenarioContext } from "./scenario.js";

/**
 * detect: member processes are SIGKILLed at random moments (so at every phase of their keep-alive);
 * a watcher in another process reports each leave. Reported as a multiple of the session timeout.
 */
export async function detect(subject: Subject, ctx: ScenarioContext): Promise<void> {
  const { settings, scope, result } = ctx;
  const url = subject.url(`bench-detect-${randomId()}`);
  const group = `detect-${randomId()}`;
  const { watcher, applied } = await startWatcher(scope, subject, url, group, result);
  let next = 0;
  for (let round = 0; round < settings.detect.rounds; round++) {
    ctx.step(`round ${round + 1}/${settings.detect.rounds}: ${settings.detect.membersPerRound} members`);
    const ids = Array.from({ length: settings.detect.membersPerRound }, () => `member-${++next}`);
    const mark = watcher.events.length;
    const members: Agent[] = await Promise.all(
      ids.map((memberId) => startMember(scope, subject, url, group, memberId)),
    );
    await Promise.all(ids.map((id) => watcher.events.waitFor(watchEvent("join", id), 30_000, mark)));
    // Let every keep-alive settle into its own rhythm, then kill each member at a random moment
    // within one session timeout.
    await sleep(settings.detect.settleMs);
    await Promise.all(
      members.map(async (agent, i) => {
        const memberId = ids[i] as string;
        await sleep(Math.random() * applied);
        const from = watcher.events.length;
        const killedAt = await agent.kill();
        const left = await watcher.events.waitFor(watchEvent("leave", memberId), 4 * applied + 15_000, from);
        addSample(result, "detectMs", left.at - killedAt);
        addSample(result, "detectRatio", (left.at - killedAt) / applied);
        if (typeof left.reason === "string") result.values[`reason:${left.reason}`] = true;
      }),
    );
    await Promise.all(members.map((agent) => scope.close(agent)));
  }
}
