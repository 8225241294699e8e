import type { RunningBackend } from "../backends/backend-spec.js";
import { sleep } from "../clock.js";
import { processTree, pssBytes, rssBytes, TreeCpu } from "../proc-stat.js";
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
  /**
   * Put in front of every metric and value name this window records (`""` by default), so one result can
   * hold two windows: `without.serverCpuPerMinute`, `with.serverCpuPerMinute`.
   */
  prefix?: string;
  /**
   * Other processes measured apart, by name: `<name>CpuPerMinute` per slice (their trees), and
   * `<name>RssBytes` (the trees' VmRSS at the end of the window).
   */
  others?: Record<string, () => number[]>;
}

/**
 * Measures an idle system for `windowMs` in slices of `sliceMs`: server CPU (the server's processes
 * and their descendants, from /proc/<pid>/stat), the server's own request counter, and the clients'
 * CPU. Each slice is one sample, normalised to per minute / per second.
 */
export async function measureCostWindow(w: CostWindow): Promise<void> {
  const prefix = w.prefix ?? "";
  const others = Object.entries(w.others ?? {});
  const slices = Math.max(1, Math.round(w.windowMs / w.sliceMs));
  for (let i = 0; i < slices; i++) {
    w.step(`measuring ${i + 1}/${slices} (${w.sliceMs / 1000} s each)`);
    const server = new TreeCpu(() => w.backend.serverPids());
    const clients = new TreeCpu(w.clientPids);
    const apart = others.map(([name, pids]) => ({ name, cpu: new TreeCpu(pids) }));
    const ownBefore = process.cpuUsage();
    const requestsBefore = w.backend.counter ? await w.backend.counter.read() : undefined;
    const started = performance.now();
    await sleep(w.sliceMs);
    const requestsAfter = w.backend.counter ? await w.backend.counter.read() : undefined;
    const seconds = (performance.now() - started) / 1000;
    const own = process.cpuUsage(ownBefore);
    if (w.backend.serverPids().length > 0)
      addSample(w.result, `${prefix}serverCpuPerMinute`, (server.since() / seconds) * 60);
    if (requestsBefore !== undefined && requestsAfter !== undefined) {
      addSample(w.result, `${prefix}requestsPerSecond`, (requestsAfter - requestsBefore) / seconds);
    }
    const clientCpu = w.inProcess ? (own.user + own.system) / 1e6 : clients.since();
    addSample(w.result, `${prefix}clientCpuPerMinute`, (clientCpu / seconds) * 60);
    for (const { name, cpu } of apart)
      addSample(w.result, `${prefix}${name}CpuPerMinute`, (cpu.since() / seconds) * 60);
  }
  const tree = processTree(w.backend.serverPids());
  if (tree.length > 0) {
    w.result.values[`${prefix}serverMemoryBytes`] = pssBytes(tree);
    w.result.values[`${prefix}serverProcesses`] = tree.length;
  }
  for (const [name, pids] of others)
    w.result.values[`${prefix}${name}RssBytes`] = rssBytes(processTree(pids()));
  if (w.backend.counter) w.result.values.counter = w.backend.counter.label;
}
