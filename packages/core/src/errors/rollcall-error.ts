import type { ErrorCode } from "./error-code.js";

const marker = Symbol.for("rollcall.error");

/** Options accepted by the {@link RollcallError} constructor. */
export interface RollcallErrorOptions {
  /** The underlying error, if any. Never put credentials in it. */
  cause?: unknown;
  /** The group the failed operation concerned. */
  group?: string;
  /** The member the failed operation concerned. */
  memberId?: string;
  /** The configuration key the failed operation concerned. */
  key?: string;
  /** For `VERSION_MISMATCH`: the version the backend found (absent when the key was absent). */
  version?: bigint;
}

/**
 * The one error type of rollcall. Every failure a caller can act on carries a stable
 * {@link ErrorCode}; messages say what was wrong and what is allowed, and never contain credentials.
 *
 * @example
 * ```ts
 * try {
 *   await coord.join("compute");
 * } catch (error) {
 *   if (RollcallError.isInstance(error) && error.code === "GROUP_NOT_FOUND") {
 *     await coord.createGroup("compute");
 *   }
 * }
 * ```
 */
export class RollcallError extends Error {
  /** The stable code; branch on this, never on the message. */
  readonly code: ErrorCode;
  /** The group involved, when there is one. */
  readonly group?: string;
  /** The member involved, when there is one. */
  readonly memberId?: string;
  /** The configuration key involved, when there is one. */
  readonly key?: string;
  /** For `VERSION_MISMATCH`: the version found (absent when the key was absent). */
  readonly version?: bigint;
  constructor(code: ErrorCode, message: string, options: RollcallErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RollcallError";
    this.code = code;
    Object.defineProperty(this, marker, { value: true });
    if (options.group !== undefined) this.group = options.group;
    if (options.memberId !== undefined) this.memberId = options.memberId;
    if (options.key !== undefined) this.key = options.key;
    if (options.version !== undefined) this.version = options.version;
  }

  /**
   * True for any rollcall error, even one created by another copy of `@rollcall/core`
   * (the check uses a `Symbol.for` marker, not `instanceof`).
   */
  static isInstance(error: unknown): error is RollcallError {
    return (
      typeof error === "object" &&
      error !== null &&
      marker in error &&
      (error as Record<symbol, unknown>)[marker] === true
    );
  }

  /** True when `error` is a rollcall error with the given code. */
  static hasCode(error: unknown, code: ErrorCode): error is RollcallError {
    return RollcallError.isInstance(error) && error.code === code;
  }
}
