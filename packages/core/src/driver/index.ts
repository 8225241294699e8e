/**
 * The driver contract: what a backend implements. Import from `@rollcall/core/driver`.
 * @packageDocumentation
 */
export type { Characteristics } from "../characteristics.js";
export { versionMismatch } from "../errors/config-errors.js";
export { type ErrorCode, ErrorCodes } from "../errors/error-code.js";
export {
  groupExists,
  groupNotEmpty,
  groupNotFound,
  memberExists,
  memberNotJoined,
} from "../errors/membership-errors.js";
export { RollcallError, type RollcallErrorOptions } from "../errors/rollcall-error.js";
export { driverClosed, noSession, sessionExpired } from "../errors/session-errors.js";
/**
 * `delay(ms, signal)`: resolves after `ms`, or rejects with the signal's reason when it aborts first (for
 * retry loops); `raceAbort(promise, signal)`: rejects with the signal's reason as soon as it aborts (the
 * request may still complete); `bounded(promise, ms, what)`: rejects with `TIMEOUT` after `ms`.
 */
export { bounded, delay, raceAbort } from "../internal/abort.js";
export { type BackoffOptions, backoff } from "../internal/backoff.js";
export {
  type CreateDriverOptions,
  type CreatedDriver,
  createDriver,
  registerBackend,
} from "../registry.js";
export type { ConfigEntry, Json, LeaveReason, Logger, Member, Metadata } from "../types.js";
export type { CommonOptions } from "../url.js";
export {
  parseStoredMetadata,
  validateAnyGroupName,
  validateConfigKey,
  validateConfigName,
  validateMemberId,
} from "../validation.js";
export type {
  ConfigChange,
  ConfigChangeBatch,
  ConfigDriver,
  ConfigListing,
  ConfigRecord,
  ConfigWatchListener,
} from "./config-driver.js";
export { configHintTopic } from "./config-driver.js";
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
export { isPermanentFailure, type OpenFailureKind, openFailure } from "./open-failure.js";
export { type Renewal, TtlSession, type TtlSessionOptions } from "./ttl-session.js";
export {
  type BooleanParam,
  COMMON_PARAMS,
  type CommonKey,
  type DriverOptions,
  defineParams,
  driverOptions,
  type EnumParam,
  type FileParam,
  type IntegerParam,
  type NumberParam,
  type ParamSchema,
  type ParamSpec,
  type ParamSpecBase,
  type ParamValue,
  type ParamValues,
  type ParseParamsOptions,
  parseParams,
  readPemFile,
  type StringParam,
} from "./url-params.js";
