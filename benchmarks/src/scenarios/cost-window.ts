import type { RunningBackend } from "../backends/backend-spec.js";
import { sleep } from "../clock.js";
import { processTree, pssBytes, TreeCpu } from "../proc-stat.js";
import type { ScenarioResult } from "../results.js";
import { addSample } from "./scenario.js";

/** What a steady-cost window measures and where. */
export interface CostWindow {
  backend: RunningBackend;
  /** Client processes (agents) whose CPU is counted as client cost. */
  clientPids: () => number[];
  /** Whether the clients run inside the harness's own process (memory://): its CPU is counted instead. */
  inProcess: boolean;
  windowMs: number;
  sliceMs: number;
  result: ScenarioResult;
  step(text: string): void;
}

/**
 * Measures an idle system for `windowMs` in slices of `sliceMs`: server CPU (the server's processes
 * and their descendants, from /proc/<pid>/stat), the server's own request counter, and the clients'
 * CPU. Each slice is one sample, normalised to per minute / per second.
 */
export async function measureCostWindow(w: CostWindow): Promise<void> {
  const slices = Math.max(1, Math.round(w.windowMs / w.sliceMs));
  for (let i = 0; i < slices; i++) {
    w.step(`measuring ${i + 1}/${slices} (${w.sliceMs / 1000} s each)`);
    const server = new TreeCpu(() => w.backend.serverPids());
    const clients = new TreeCpu(w.clientPids);
    const ownBefore = process.cpuUsage();
    const requestsBefore = w.backend.counter ? await w.backend.counter.read() : undefined;
    const started = performance.now();
    await sleep(w.sliceMs);
    const requestsAfter = w.backend.counter ? await w.backend.counter.read() : undefined;
    const seconds = (performance.now() - started) / 1000;
    const own = process.cpuUsage(ownBefore);
    if (w.backend.serverPids().length > 0)
      addSample(w.result, "serverCpuPerMinute", (server.since() / seconds) * 60);
    if (requestsBefore !== undefined && requestsAfter !== undefined) {
      addSample(w.result, "requestsPerSecond", (requestsAfter - requestsBefore) / seconds);
    }
    const clientCpu = w.inProcess ? (own.user + own.system) / 1e6 : clients.since();
    addSample(w.result, "clientCpuPerMinute", (clientCpu / seconds) * 60);
  }
  const tree = processTree(w.backend.serverPids());
  if (tree.length > 0) {
    w.result.values.serverMemoryBytes = pssBytes(tree);
    w.result.values.serverProcesses = tree.length;
  }
  if (w.backend.counter) w.result.values.counter = w.backend.counter.label;
}
