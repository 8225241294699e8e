/**
 * rollcall core: the Coordinator, errors, characteristics, elections, locks, ServiceGroup and HashRing.
 * Backends register themselves through {@link registerBackend}; their contract is in `@rollcall/core/driver`.
 * @packageDocumentation
 */
export { connect } from "./connect.js";
export type {
  CampaignOptions,
  ConnectOptions,
  Coordinator,
  Election,
  ElectionOptions,
  GroupView,
  JoinOptions,
  Leadership,
  Lock,
  WatchOptions,
} from "./api.js";
export { type Characteristics, unmetCharacteristics } from "./characteristics.js";
export { ErrorCodes, type ErrorCode } from "./errors/error-code.js";
export { RollcallError, type RollcallErrorOptions } from "./errors/rollcall-error.js";
export type { Json, LeaveReason, Logger, Member, MembershipEvent, Metadata, SessionState } from "./types.js";
export { registerBackend, resolveBackend, SCHEME_PACKAGES } from "./registry.js";
export { parseUrl, redactUrl, COMMON_PARAMS, type CommonOptions } from "./url.js";
export {
  MAX_METADATA_BYTES,
  MAX_METADATA_DEPTH,
  validateGroupName,
  validateMemberId,
  validateMetadata,
} from "./validation.js";
export { ServiceGroup } from "./service-group.js";
export { HashRing, type GetNodesOptions } from "./hash-ring.js";
export { Partitioner, type PartitionerOptions } from "./partitioner.js";
export { VALIDITY_FRACTION } from "./session.js";
export type { BackendDefinition, Driver, DriverConfig } from "./driver/driver.js";
