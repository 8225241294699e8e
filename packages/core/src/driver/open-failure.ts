import { RollcallError } from "../errors/rollcall-error.js";

const permanent = Symbol.for("rollcall.permanent");

/**
 * Why one attempt of {@link Driver.open} failed:
 * - `unreachable` — the server could not be reached or did not answer in time (refused, reset, timed
 *   out, unavailable): transient, core tries again with backoff until `connectTimeout`;
 * - `refused` — the server answered and refused: the credentials, the client certificate, the
 *   permissions, or another answer that retrying cannot change: permanent, `connect()` fails at once
 *   (code `CONNECTION`);
 * - `configuration` — the URL names something that cannot work (a SQLite file in a directory that does
 *   not exist, an unreadable CA file): permanent (code `INVALID_ARGUMENT`).
 */
export type OpenFailureKind = "unreachable" | "refused" | "configuration";

/**
 * The error a driver's `open()` rejects with when its one attempt fails, classified so that core
 * knows whether to try again. The message says what the attempt saw (e.g. `connect ECONNREFUSED
 * 127.0.0.1:2379`); core prefixes where it was connecting to. Never put credentials in it.
 */
export function openFailure(kind: OpenFailureKind, message: string, cause?: unknown): RollcallError {
  const error = new RollcallError(
    kind === "configuration" ? "INVALID_ARGUMENT" : "CONNECTION",
    message,
    cause === undefined ? {} : { cause },
  );
  if (kind !== "unreachable") Object.defineProperty(error, permanent, { value: true });
  return error;
}

/**
 * Whether a failure of `open()` will not get better by trying again: any `RollcallError` other than
 * `CONNECTION` (bad configuration, a driver closed meanwhile), and a `CONNECTION` made by
 * {@link openFailure} with kind `refused`. Anything else — a plain `CONNECTION`, an error that is
 * not a `RollcallError` — is transient.
 */
export function isPermanentFailure(error: unknown): boolean {
  if (!RollcallError.isInstance(error)) return false;
  if (error.code !== "CONNECTION") return true;
  return (error as unknown as Record<symbol, unknown>)[permanent] === true;
}
