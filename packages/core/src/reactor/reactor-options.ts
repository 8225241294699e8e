import { RollcallError } from "../errors/rollcall-error.js";
import { validateElectionName, validateInteger, validateOptions } from "../validation.js";
import type { ResolvedReactorOptions } from "./reactor.js";
import type { ReactorOptions } from "./reactor-types.js";

const HOUR = 3_600_000;

/**
 * Checks a reactor's handler and options and applies the defaults (see {@link ReactorOptions}).
 * @throws RollcallError `INVALID_ARGUMENT` naming the option
 */
export function resolveReactorOptions(
  group: string,
  handler: unknown,
  options: ReactorOptions | undefined,
  sessionTimeout: number,
): ResolvedReactorOptions {
  if (typeof handler !== "function") {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `a reactor's handler must be a function, got ${typeof handler}`,
    );
  }
  validateOptions("reactor options", options);
  const name = options?.name ?? group;
  validateElectionName(name);
  validateElectionName(`reactor.${name}`);
  const reasons = options?.reasons ?? ["expired"];
  if (
    !Array.isArray(reasons) ||
    reasons.length === 0 ||
    reasons.some((r) => r !== "expired" && r !== "left")
  ) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `reasons must be a non-empty list of "expired" and "left", got ${JSON.stringify(reasons)}`,
    );
  }
  const grace = options?.grace === undefined ? 0 : validateInteger("grace", options.grace, 0, HOUR);
  let brake: ResolvedReactorOptions["brake"];
  if (options?.brake !== false) {
    const given = options?.brake;
    validateOptions("brake", given);
    const fraction = given?.fraction ?? 0.5;
    if (typeof fraction !== "number" || !(fraction > 0 && fraction < 1)) {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `brake.fraction must be a number between 0 and 1 (exclusive), got ${JSON.stringify(fraction)}`,
      );
    }
    const window =
      given?.window === undefined
        ? 2 * sessionTimeout
        : validateInteger("brake.window", given.window, 1, HOUR);
    brake = { fraction, window };
  }
  validateOptions("retry", options?.retry);
  const initial =
    options?.retry?.initial === undefined
      ? 1000
      : validateInteger("retry.initial", options.retry.initial, 1, HOUR);
  const max =
    options?.retry?.max === undefined
      ? Math.max(initial, 30_000)
      : validateInteger("retry.max", options.retry.max, initial, HOUR);
  return { name, reasons: new Set(reasons), grace, brake, retry: { initial, max } };
}
