import { COMMON_PARAMS, type Driver, parseUrl, RollcallError, resolveBackend } from "@rollcall/core";
import { mapLimit } from "./limit.js";

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** Member ids the loader writes: `m-00001`, `m-00002`, … */
export function loadedMemberId(index: number): string {
  return `m-${String(index + 1).padStart(5, "0")}`;
}

/**
 * Writes `count` members into one group through the backend's driver, `count / sessions` members per
 * session, and keeps the sessions open. Ten thousand one-member sessions (ten thousand ZooKeeper handles,
 * Redis or PostgreSQL connections) do not fit on a small machine; the readers the scale scenario
 * measures see the same records either way.
 *
 * The URL must carry `namespace=` and `sessionTimeout=` as query keys.
 */
export async function loadMembers(
  url: string,
  group: string,
  count: number,
  sessions: number,
): Promise<{ drivers: Driver[]; ms: number }> {
  const started = performance.now();
  const drivers: Driver[] = [];
  const perSession = Math.ceil(count / sessions);
  await mapLimit(
    Array.from({ length: sessions }, (_, i) => i),
    4,
    async (s) => {
      const parsed = parseUrl(url);
      const backend = await resolveBackend(parsed.scheme);
      const namespace = parsed.params.get("namespace") ?? backend.defaultNamespace ?? "rollcall";
      const sessionTimeout = Number(parsed.params.get("sessionTimeout") ?? backend.defaultSessionTimeout);
      for (const key of COMMON_PARAMS) parsed.params.delete(key);
      const driver = backend.create({
        url: parsed,
        memberId: `loader-${s}`,
        namespace,
        sessionTimeout,
        logger: silent,
        maxMetadataBytes: 65_536,
      });
      await driver.open({ state() {}, renewed() {} }, AbortSignal.timeout(60_000));
      drivers.push(driver);
      try {
        await driver.createGroup(group);
      } catch (error) {
        if (!(RollcallError.isInstance(error) && error.code === "GROUP_EXISTS")) throw error;
      }
      const ids: number[] = [];
      for (let i = s * perSession; i < Math.min(count, (s + 1) * perSession); i++) ids.push(i);
      await mapLimit(ids, 8, (i) =>
        driver.join(group, loadedMemberId(i), { host: `compute-${i + 1}`, cpus: 64, zone: `az${i % 3}` }),
      );
    },
  );
  return { drivers, ms: performance.now() - started };
}
