import { type Coordinator, connect } from "@rollcall/core";
import { openStore } from "./config-commands.js";
import { type ConfigScaleRequest, type ConfigScaleResult, scaleKey, scaleValue } from "./config-protocol.js";
import { mapLimit } from "./limit.js";

/**
 * Writes the entries through `loaderSessions` coordinators, then measures what a new watcher and a reader of
 * the whole store pay: `watch()` to its snapshot, and `entries()`, each on a freshly connected coordinator
 * (the connection itself not counted).
 */
export async function runConfigScale(request: ConfigScaleRequest): Promise<ConfigScaleResult> {
  const loaders: Coordinator[] = [];
  const result: ConfigScaleResult = {
    loadMs: 0,
    snapshotMs: [],
    snapshotSizes: [],
    entriesMs: [],
    entriesSizes: [],
  };
  try {
    for (let s = 0; s < request.loaderSessions; s++)
      loaders.push(await connect(request.url, { memberId: `config-loader-${s}` }));
    const stores = loaders.map((coord) => openStore(coord, request.store));
    const started = performance.now();
    const deadline = started + request.loadTimeoutMs;
    let written = 0;
    await mapLimit(
      Array.from({ length: request.keys }, (_, i) => i),
      request.loadConcurrency,
      async (i) => {
        if (performance.now() > deadline) {
          throw new Error(
            `wrote only ${written} of ${request.keys} entries within ${request.loadTimeoutMs / 1000} s`,
          );
        }
        await stores[i % stores.length]?.set(scaleKey(i), scaleValue(i));
        written++;
      },
    );
    result.loadMs = performance.now() - started;
    for (let rep = 0; rep < request.repetitions; rep++) {
      const coord = await connect(request.url, { memberId: `config-reader-${rep}` });
      try {
        const store = openStore(coord, request.store);
        const controller = new AbortController();
        const t = performance.now();
        for await (const event of store.watch({ signal: controller.signal })) {
          if (event.type !== "snapshot") continue;
          result.snapshotMs.push(performance.now() - t);
          result.snapshotSizes.push(event.entries.length);
          break;
        }
        controller.abort();
        const e = performance.now();
        const snapshot = await store.entries();
        result.entriesMs.push(performance.now() - e);
        result.entriesSizes.push(snapshot.entries.length);
      } finally {
        await coord.close();
      }
    }
  } finally {
    await mapLimit(loaders, 4, (coord) => coord.close().catch(() => {}));
  }
  return result;
}
