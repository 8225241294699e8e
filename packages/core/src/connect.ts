import type { ConnectOptions, Coordinator } from "./api.js";
import { unmetCharacteristics } from "./characteristics.js";
import { SessionCoordinator } from "./coordinator.js";
import { RollcallError } from "./errors/rollcall-error.js";
import { scrubSecrets } from "./errors/scrub-secrets.js";
import { silentLogger } from "./internal/silent-logger.js";
import { createDriver } from "./registry.js";
import { validateMemberId, validateOptions, validateSignal } from "./validation.js";

/**
 * Connects to the backend named by the URL's scheme and opens a session as `memberId`.
 *
 * Common URL query keys, the same on every backend: `sessionTimeout` (ms), `retryInterval` (ms),
 * `namespace` (or the URL path where the backend says so), `connectTimeout` (ms), `pollInterval` (ms),
 * `maxMetadataBytes`.
 *
 * @throws RollcallError `INVALID_ARGUMENT` (bad URL or options), `UNKNOWN_SCHEME`,
 * `CHARACTERISTIC_MISMATCH`, `CONNECTION`
 *
 * @example
 * ```ts
 * await using coord = await connect("zookeeper://10.0.0.1:2181/servicegroups?sessionTimeout=4000", {
 *   memberId: "compute-17",
 * });
 * await coord.join("compute", { metadata: { cpus: 64 }, createGroup: true });
 * ```
 */
export async function connect(url: string | URL, options: ConnectOptions): Promise<Coordinator> {
  if (typeof options !== "object" || options === null) {
    throw new RollcallError("INVALID_ARGUMENT", "connect() needs options with a memberId");
  }
  validateOptions("connect options", options);
  validateMemberId(options.memberId);
  const signal = validateSignal("signal", options.signal);
  if (options.require !== undefined) validateOptions("require", options.require);
  if (signal?.aborted) throw signal.reason;
  const logger = options.logger ?? silentLogger;
  const {
    driver,
    backend,
    url: parsed,
    options: common,
    secrets,
  } = await createDriver(url, {
    memberId: options.memberId,
    logger,
  });
  if (options.require) {
    const unmet = unmetCharacteristics(driver.characteristics, options.require);
    if (unmet.length > 0) {
      const detail = unmet
        .map(
          (key) =>
            `${key}: required ${JSON.stringify(options.require?.[key])}, ${backend.name} is ${JSON.stringify(driver.characteristics[key])}`,
        )
        .join("; ");
      throw new RollcallError(
        "CHARACTERISTIC_MISMATCH",
        `${backend.name} does not meet the requirements: ${detail}`,
      );
    }
  }
  const coordinator = new SessionCoordinator({
    memberId: options.memberId,
    backend: backend.name,
    redactedUrl: parsed.redacted,
    driver,
    options: common,
    logger,
    secrets,
  });
  try {
    await coordinator.open(signal);
  } catch (failure) {
    await driver.close().catch(() => {});
    const error = scrubSecrets(failure, secrets);
    // The caller abandoned connecting (a deadline becomes a CONNECTION naming the last attempt instead).
    if (signal?.aborted && error === signal.reason) throw error;
    if (RollcallError.isInstance(error)) {
      if (error.code === "CONNECTION" && !error.message.includes(parsed.redacted)) {
        throw new RollcallError("CONNECTION", `could not connect to ${parsed.redacted}: ${error.message}`, {
          cause: error,
        });
      }
      throw error;
    }
    throw new RollcallError("CONNECTION", `could not connect to ${parsed.redacted}`, { cause: error });
  }
  logger.info("connected", { backend: backend.name, url: parsed.redacted, memberId: options.memberId });
  return coordinator;
}
