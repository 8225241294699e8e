/**
 * The driver contract: what a backend implements. Import from `@rollcall/core/driver`.
 * @packageDocumentation
 */
export type { Characteristics } from "../characteristics.js";
export { type ErrorCode, ErrorCodes } from "../errors/error-code.js";
export { RollcallError, type RollcallErrorOptions } from "../errors/rollcall-error.js";
/** Resolves after `ms`, or rejects with the signal's reason when it aborts first: for drivers' retry loops. */
export { delay } from "../internal/abort.js";
export {
  type CreateDriverOptions,
  type CreatedDriver,
  createDriver,
  registerBackend,
} from "../registry.js";
export type { Json, LeaveReason, Logger, Member, Metadata } from "../types.js";
export type { CommonOptions } from "../url.js";
export { parseStoredMetadata } from "../validation.js";
export type { ConnectionUrl, HostPort } from "./connection-url.js";
export type {
  BackendDefinition,
  ChangeBatch,
  Driver,
  DriverConfig,
  DriverEvent,
  GroupSnapshot,
  SessionListener,
  WatchHandle,
  WatchListener,
} from "./driver.js";
