import type { Agent, Timed } from "../agents/agent.js";
import { randomId, sleep } from "../clock.js";
import type { Subject } from "../subjects.js";
import { startCandidate } from "./participants.js";
import { addSample, type ScenarioContext } from "./scenario.js";
import { firstEvent, marks } from "./wait-any.js";

interface Candidate {
  agent: Agent;
  memberId: string;
}

/**
 * failover: candidates in separate processes campaign in one election. A graceful resign and a SIGKILL
 * of the leader's process are each timed to the moment another candidate is told it leads.
 */
export async function failover(subject: Subject, ctx: ScenarioContext): Promise<void> {
  const { settings, scope, result } = ctx;
  const url = subject.url(`bench-failover-${randomId()}`);
  const election = `failover-${randomId()}`;
  const timeout = subject.sessionTimeoutMs;
  const waitMs = 4 * timeout + 15_000;
  let next = 0;
  const start = async (): Promise<Candidate> => {
    const memberId = `candidate-${++next}`;
    const agent = await startCandidate(scope, subject, url, memberId, election, result);
    return { agent, memberId };
  };
  const candidates: Candidate[] = [];
  for (let i = 0; i < settings.failover.candidates; i++) {
    candidates.push(await start());
    await sleep(200);
  }
  const elected = (e: { event: string }) => e.event === "elected";
  let leader = await firstEvent(
    candidates.map((c) => c.agent),
    elected,
    waitMs,
    new Map(candidates.map((c) => [c.agent, 0])),
  ).then(({ agent }) => candidates.find((c) => c.agent === agent) as Candidate);
  const applied = Number(result.values.sessionTimeoutMs ?? timeout);

  for (let i = 0; i < settings.failover.resigns; i++) {
    ctx.step(`resign ${i + 1}/${settings.failover.resigns}`);
    const others = candidates.filter((c) => c !== leader);
    const from = marks(others.map((c) => c.agent));
    const resigned = await leader.agent.request<Timed>("resign", { memberId: leader.memberId });
    const next = await firstEvent(
      others.map((c) => c.agent),
      elected,
      waitMs,
      from,
    );
    addSample(result, "resignMs", next.event.at - resigned.startedAt);
    // The one who resigned stands again, behind the others.
    await leader.agent.request("campaign", { memberId: leader.memberId, election });
    leader = candidates.find((c) => c.agent === next.agent) as Candidate;
    await sleep(300 + Math.random() * (subject.pollIntervalMs ?? 0));
  }

  for (let i = 0; i < settings.failover.kills; i++) {
    ctx.step(`kill ${i + 1}/${settings.failover.kills}`);
    const others = candidates.filter((c) => c !== leader);
    const from = marks(others.map((c) => c.agent));
    const killedAt = await leader.agent.kill();
    const next = await firstEvent(
      others.map((c) => c.agent),
      elected,
      waitMs,
      from,
    );
    addSample(result, "killMs", next.event.at - killedAt);
    addSample(result, "killRatio", (next.event.at - killedAt) / applied);
    const dead = leader;
    candidates.splice(candidates.indexOf(dead), 1);
    await scope.close(dead.agent);
    leader = candidates.find((c) => c.agent === next.agent) as Candidate;
    if (i < settings.failover.kills - 1) {
      candidates.push(await start());
      await sleep(500);
    }
  }
}
