import type { RunningBackend } from "../backends/backend-spec.js";
import { sleep } from "../clock.js";
import type { NovaSettings } from "../settings.js";
import { createServicesTable, novaDatabase, startNovaAgent } from "./nova-table.js";
import { addSample, type ScenarioContext } from "./scenario.js";

/**
 * Nova DB heartbeat, detection: service processes save their row every `report_interval`; each is
 * SIGKILLed at a random phase of its interval; the consumer, polling every `pollMs`, decides it down
 * when its row is older than `service_down_time`. Also records the analytic bound:
 * after a crash a service is seen down between service_down_time − report_interval and
 * service_down_time + poll interval.
 */
export async function novaDetect(
  backend: RunningBackend,
  nova: NovaSettings,
  services: number,
  ctx: ScenarioContext,
): Promise<void> {
  const { scope, result } = ctx;
  const database = novaDatabase(backend);
  result.settings = { ...result.settings, ...nova, services };
  result.values.boundLowMs = nova.serviceDownTimeMs - nova.reportIntervalMs;
  result.values.boundHighMs = nova.serviceDownTimeMs + nova.pollMs;
  result.values.sessionTimeoutMs = nova.serviceDownTimeMs;
  if (services === 0) {
    result.notes.push("detection not measured in this run: the bound is computed");
    return;
  }
  const { table, ids, hosts } = await createServicesTable(database, services);
  const consumer = await startNovaAgent(scope, "consumer");
  await consumer.request("consumer", {
    ...database,
    table,
    serviceDownTimeMs: nova.serviceDownTimeMs,
    pollMs: nova.pollMs,
  });
  const agents = await Promise.all(
    ids.map(async (id) => {
      const agent = await startNovaAgent(scope, `service-${id}`);
      await agent.request("services", {
        ...database,
        table,
        ids: [id],
        reportIntervalMs: nova.reportIntervalMs,
        poolSize: 1,
      });
      return agent;
    }),
  );
  ctx.step(
    `${services} services up; killing each at a random phase of its ${Math.round(nova.reportIntervalMs)} ms report interval`,
  );
  // After one report interval every service has reported at least once; kill within the next one.
  await sleep(nova.reportIntervalMs);
  await Promise.all(
    agents.map(async (agent, i) => {
      await sleep(Math.random() * nova.reportIntervalMs);
      const from = consumer.events.length;
      const killedAt = await agent.kill();
      const host = hosts[i] as string;
      const down = await consumer.events.waitFor(
        (e) => e.event === "down" && e.host === host,
        nova.serviceDownTimeMs + nova.reportIntervalMs + 2 * nova.pollMs + 15_000,
        from,
      );
      addSample(result, "detectMs", down.at - killedAt);
      addSample(result, "detectRatio", (down.at - killedAt) / nova.serviceDownTimeMs);
    }),
  );
}
