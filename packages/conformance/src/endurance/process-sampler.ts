import { readdirSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** One sample of the load process. */
export interface ProcessSample {
  /** Seconds since the soak started. */
  at: number;
  rssMb: number;
  /** Heap used right after a forced full collection. */
  heapMb: number;
  /** Open file descriptors (/proc/self/fd). */
  fds: number;
  /** Active libuv handles and requests (process.getActiveResourcesInfo()). */
  handles: number;
}

let collect: (() => void) | undefined;

/** A full garbage collection, available without starting node with --expose-gc. */
function gc(): void {
  if (!collect) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) collect = exposed;
    else {
      setFlagsFromString("--expose-gc");
      collect = runInNewContext("gc") as () => void;
    }
  }
  collect();
}

function openFds(): number {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return -1;
  }
}

/** Samples this process: RSS, heap after a full GC, descriptors, handles. */
export function sampleProcess(startedAt: number): ProcessSample {
  gc();
  const memory = process.memoryUsage();
  return {
    at: Math.round((performance.now() - startedAt) / 100) / 10,
    rssMb: Math.round(memory.rss / 1e5) / 10,
    heapMb: Math.round(memory.heapUsed / 1e4) / 100,
    fds: openFds(),
    handles: process.getActiveResourcesInfo().length,
  };
}

/**
 * Least-squares slope of `y` over `x`, per minute when `x` is in seconds. Undefined with fewer than
 * three points.
 */
export function slopePerMinute(points: { x: number; y: number }[]): number | undefined {
  if (points.length < 3) return undefined;
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}
