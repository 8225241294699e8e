import { mapLimit } from "../agents/limit.js";
import type { RunningBackend } from "../backends/backend-spec.js";
import { sleep } from "../clock.js";
import type { NovaSettings } from "../settings.js";
import { measureCostWindow } from "./cost-window.js";
import { createServicesTable, novaDatabase, startNovaAgent } from "./nova-table.js";
import type { ScenarioContext } from "./scenario.js";

/**
 * Nova DB heartbeat, steady cost: 1,000 services saving their rows every `report_interval` from
 * several client processes (through pooled connections, as nova-conductor does for nova-compute),
 * one consumer polling the table; measured like the rollcall backends' steady cost.
 */
export async function novaSteady(
  backend: RunningBackend,
  nova: NovaSettings,
  ctx: ScenarioContext,
): Promise<void> {
  const { settings, scope, result } = ctx;
  const database = novaDatabase(backend);
  const members = settings.steady.members;
  const processes = settings.nova.processes;
  const poolSize = 5;
  result.settings = { ...result.settings, ...nova, members, processes, poolSize };
  const { table, ids } = await createServicesTable(database, members);
  const chunks = Array.from({ length: processes }, (_, p) => ids.filter((_, i) => i % processes === p));
  const agents = await mapLimit(chunks, 4, async (chunk, p) => {
    const agent = await startNovaAgent(scope, `services-${p + 1}`);
    await agent.request("services", {
      ...database,
      table,
      ids: chunk,
      reportIntervalMs: nova.reportIntervalMs,
      poolSize,
    });
    return agent;
  });
  const consumer = await startNovaAgent(scope, "consumer");
  const seen = await consumer.request<{ services: number; up: number }>("consumer", {
    ...database,
    table,
    serviceDownTimeMs: nova.serviceDownTimeMs,
    pollMs: nova.pollMs,
  });
  result.values.viewedMembers = seen.up;
  const warmup = Math.max(settings.steady.warmupMs, nova.reportIntervalMs);
  ctx.step(`${members} services in ${processes} processes; warming up ${Math.round(warmup)} ms`);
  await sleep(warmup);
  await measureCostWindow({
    backend,
    clientPids: () => [...agents, consumer].map((a) => a.pid).filter((p): p is number => p !== undefined),
    inProcess: false,
    windowMs: settings.steady.windowMs,
    sliceMs: Math.max(settings.steady.sliceMs, Math.min(nova.reportIntervalMs, settings.steady.windowMs)),
    result,
    step: ctx.step,
  });
  const stats = await Promise.all(
    agents.map((a) => a.request<{ beats: number; beatErrors: number }>("stats")),
  );
  result.values.beatErrors = stats.reduce((n, s) => n + s.beatErrors, 0);
}
