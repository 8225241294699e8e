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
 * The growth per minute of `y` over `x` (seconds): the Theil–Sen estimate, the median of the slopes
 * between every pair of points. A leak moves every pair; one sample caught during a storm's transient
 * (reconnecting pools, buffered requests, a heap of 195 MB between samples of 160 in a MariaDB run)
 * moves only the pairs it is in, where a least-squares line would tilt toward it. `undefined` with
 * fewer than three points.
 */
export function slopePerMinute(points: { x: number; y: number }[]): number | undefined {
  if (points.length < 3) return undefined;
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const a = points[i] as { x: number; y: number };
      const b = points[j] as { x: number; y: number };
      if (b.x !== a.x) slopes.push((b.y - a.y) / (b.x - a.x));
    }
  }
  if (slopes.length === 0) return 0;
  slopes.sort((p, q) => p - q);
  const mid = slopes.length >> 1;
  const median =
    slopes.length % 2 === 1
      ? (slopes[mid] as number)
      : ((slopes[mid - 1] as number) + (slopes[mid] as number)) / 2;
  return median * 60;
}
