import { RollcallError } from "@rollcall/core/driver";
import { isBrokenCircuitError } from "cockatiel";
import {
  castGrpcError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError,
  EtcdUserNotFoundError,
  GRPCCancelledError,
  type IRequestStream,
  isRecoverableError,
} from "etcd3";

/** Whether an error from etcd3 is worth another attempt (unreachable, deadline, cancelled, …). */
export function isTransient(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  if (isRecoverableError(error as Error)) return true;
  // A circuit breaker of the client's connection pool refusing a host it recently saw fail.
  return isBrokenCircuitError(error) || error instanceof EtcdInvalidAuthTokenError;
}

/**
 * Turns an etcd3 / gRPC error into a `RollcallError` naming the endpoints (gRPC messages carry no
 * credentials; the user name is safe to name, the password never appears).
 */
export function toRollcallError(
  error: unknown,
  endpoints: readonly string[],
  username?: string,
): RollcallError {
  if (RollcallError.isInstance(error)) return error;
  const where = `etcd at ${endpoints.join(",")}`;
  if (
    error instanceof EtcdAuthenticationFailedError ||
    error instanceof EtcdUserNotFoundError ||
    error instanceof EtcdPermissionDeniedError
  ) {
    const who = username === undefined ? "" : ` as user ${JSON.stringify(username)}`;
    return new RollcallError(
      "CONNECTION",
      `${where} refused the request${who}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new RollcallError("CONNECTION", `${where} failed: ${message}`, { cause: error });
}

/**
 * Whether a stream failed because etcd's auth token expired. etcd3 renews the token only when a
 * unary call fails with it, so a stream owner makes one unary call before opening a new stream.
 */
export function isInvalidAuthToken(error: Error): boolean {
  return castGrpcError(error) instanceof EtcdInvalidAuthTokenError;
}

/**
 * Whether a failure should count against a host in etcd3's circuit breaker: a recoverable error
 * that is not our own cancellation of a stream.
 */
export function countsAgainstHost(error: Error): boolean {
  return isRecoverableError(error) && !(error instanceof GRPCCancelledError);
}

/**
 * Ends a stream we no longer want. Half-closing first makes etcd3's error handler (which fires on the
 * cancellation) leave the host alone: it marks a host failed only while the stream is writable.
 */
export function discardStream(stream: IRequestStream<unknown>): void {
  stream.end();
  stream.cancel();
}
