import type { Agent } from "../agents/agent.js";
import { randomId, sleep } from "../clock.js";
import type { Subject } from "../subjects.js";
import { addSample, type ScenarioContext } from "./scenario.js";

/**
 * detect: member processes are SIGKILLed at random moments (so at every phase of their keep-alive);
 * a watcher in another process reports each leave. Reported as a multiple of the session timeout.
 */
export async function detect(subject: Subject, ctx: ScenarioContext): Promise<void> {
  const { settings, scope, result } = ctx;
  const url = subject.url(`bench-detect-${randomId()}`);
  const group = `detect-${randomId()}`;
  const timeout = subject.sessionTimeoutMs;
  const watcher = await scope.spawn(subject, "watcher");
  const connected = await watcher.request<{ sessionTimeout: number }>("connect", {
    url,
    memberIds: ["watcher"],
    sessionTimeout: timeout,
  });
  const applied = connected.sessionTimeout || timeout;
  result.values.sessionTimeoutMs = applied;
  await watcher.request("watch", { memberId: "watcher", group });
  let next = 0;
  for (let round = 0; round < settings.detect.rounds; round++) {
    ctx.step(`round ${round + 1}/${settings.detect.rounds}: ${settings.detect.membersPerRound} members`);
    const ids = Array.from({ length: settings.detect.membersPerRound }, () => `member-${++next}`);
    const mark = watcher.events.length;
    const members: Agent[] = await Promise.all(
      ids.map(async (memberId) => {
        const agent = await scope.spawn(subject, memberId);
        await agent.request("connect", { url, memberIds: [memberId], sessionTimeout: timeout });
        await agent.request("join", { group, memberIds: [memberId] });
        return agent;
      }),
    );
    await Promise.all(
      ids.map((id) =>
        watcher.events.waitFor(
          (e) => e.event === "watch" && e.type === "join" && e.memberId === id,
          30_000,
          mark,
        ),
      ),
    );
    // Let every keep-alive settle into its own rhythm, then kill each member at a random moment
    // within one session timeout.
    await sleep(settings.detect.settleMs);
    await Promise.all(
      members.map(async (agent, i) => {
        const memberId = ids[i] as string;
        await sleep(Math.random() * applied);
        const from = watcher.events.length;
        const killedAt = await agent.kill();
        const left = await watcher.events.waitFor(
          (e) => e.event === "watch" && e.type === "leave" && e.memberId === memberId,
          4 * applied + 15_000,
          from,
        );
        addSample(result, "detectMs", left.at - killedAt);
        addSample(result, "detectRatio", (left.at - killedAt) / applied);
        if (typeof left.reason === "string") result.values[`reason:${left.reason}`] = true;
      }),
    );
    await Promise.all(members.map((agent) => scope.close(agent)));
  }
}
