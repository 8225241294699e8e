/**
 * rollcall core: the Coordinator, errors, characteristics, elections, locks, ServiceGroup and HashRing.
 * Backends register themselves through {@link registerBackend}; their contract is in `@rollcall/core/driver`.
 * @packageDocumentation
 */

export type {
  CampaignOptions,
  ConfigReadOptions,
  Configuration,
  ConfigView,
  ConfigWatchOptions,
  ConfigWriteOptions,
  ConnectOptions,
  Coordinator,
  CoordinatorEvent,
  Election,
  ElectionOptions,
  GroupView,
  JoinOptions,
  Leadership,
  LeadershipChange,
  Lock,
  WatchOptions,
} from "./api.js";
export { type Characteristics, unmetCharacteristics } from "./characteristics.js";
export { connect } from "./connect.js";
export type { BackendDefinition, Driver, DriverConfig } from "./driver/driver.js";
export { type ErrorCode, ErrorCodes } from "./errors/error-code.js";
export { RollcallError, type RollcallErrorOptions } from "./errors/rollcall-error.js";
export { type GetNodesOptions, HashRing } from "./hash-ring.js";
export { Partitioner, type PartitionerOptions } from "./partitioner.js";
export { type ReactorStatus, reactorStatus, releaseReactor } from "./reactor/reactor-admin.js";
export { REACTOR_CONFIG } from "./reactor/reactor-store.js";
export type {
  BrakeOptions,
  BrakeStatus,
  Departure,
  Reactor,
  ReactorContext,
  ReactorEvent,
  ReactorHandler,
  ReactorOptions,
  ReactorState,
} from "./reactor/reactor-types.js";
export { registerBackend, resolveBackend, SCHEME_PACKAGES } from "./registry.js";
export { ServiceGroup } from "./service-group.js";
export { VALIDITY_FRACTION } from "./session.js";
export type {
  ConfigEntry,
  ConfigEvent,
  ConfigSnapshot,
  Json,
  LeaveReason,
  Logger,
  Member,
  MembershipEvent,
  Metadata,
  SessionState,
} from "./types.js";
export { COMMON_PARAMS, type CommonOptions, parseUrl, redactUrl } from "./url.js";
export {
  MAX_CONFIG_KEY_LENGTH,
  MAX_METADATA_BYTES,
  MAX_METADATA_DEPTH,
  validateConfigKey,
  validateConfigName,
  validateGroupName,
  validateMemberId,
  validateMetadata,
} from "./validation.js";
