import { RollcallError } from "@rollcall/core";

/** A usage error: bad arguments. Exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Exit statuses of the `rollcall` command. */
export const EXIT = { ok: 0, failure: 1, usage: 2, lostLeadership: 3, versionMismatch: 4 } as const;

/** One line for stderr: the stable code and the message (which never holds credentials). */
export function describeError(error: unknown): string {
  if (RollcallError.isInstance(error)) return `${error.code}: ${error.message}`;
  if (error instanceof UsageError) return `${error.message} (see rollcall --help)`;
  return error instanceof Error ? error.message : String(error);
}
