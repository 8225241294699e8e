import { createRequire } from "node:module";

/**
 * The slice of npm `zookeeper` (7.3.0, the native binding to the single-threaded C client) this
 * package uses, typed here so that none of the binding's own types leak into our API.
 */

/** A znode's stat, as the binding reports it (zxids are JS numbers: exact while the epoch < 2^21). */
export interface ZkStat {
  czxid: number;
  mzxid: number;
  pzxid: number;
  version: number;
  cversion: number;
  aversion: number;
  ctime: Date;
  mtime: Date;
  ephemeralOwner: string;
  /** The length of the znode's data, in bytes. */
  dataLength: number;
  numChildren: number;
}

/** An ACL entry as `a_set_acl` takes it. */
export interface ZkAcl {
  perms: number;
  scheme: string;
  auth: string;
}

/**
 * A one-shot watch listener: `type` is one of {@link WatchType}. Listeners are kept by the session (see
 * {@link ZkSession.exists}), never handed to the binding.
 */
export type ZkWatcher = (type: number) => void;

/** The events the binding emits for the handle's default watcher, with the znode's path. */
export type NativeWatchEvent = "created" | "deleted" | "changed" | "child" | "notwatching";

type Callback<A extends unknown[]> = (rc: number, error: string, ...rest: A) => void;

/**
 * The binding's native object (`handle.native`), under its JavaScript class. Its methods are the same
 * requests as the class's, called without the class's wrapper: 7.3.0's wrapper logs every call with
 * `this.log(\`Calling a_get with ${util.inspect([...])}\`)`, whose argument is built (an
 * `util.inspect` of the arguments, callback included) even when logging is off — 10–20 % of the client's
 * CPU per member read, measured. `a_createTtl` is `a_create_ttl` here.
 */
export interface NativeRequests {
  a_create(path: string, data: Buffer, flags: number, cb: Callback<[path: string]>): number;
  a_create_ttl(path: string, data: Buffer, flags: number, ttl: number, cb: Callback<[path: string]>): number;
  /**
   * With `watch`, sets a one-shot watch for the handle's *default* watcher, which the binding reports as a
   * `created` / `deleted` / `changed` event on the handle. (The `aw_*` variants, which take a watcher
   * function, are not used: 7.3.0 never releases that function — a `Nan::Callback` per call, freed
   * neither when the watch fires nor when the handle closes — so everything it captures would live for
   * as long as the process.)
   */
  a_exists(path: string, watch: boolean, cb: Callback<[stat: ZkStat | null]>): number;
  a_get(path: string, watch: boolean, cb: Callback<[stat: ZkStat | null, data: Buffer | null]>): number;
  /** With `watch`, a one-shot children watch for the default watcher (a `child` event). */
  a_get_children2(path: string, watch: boolean, cb: Callback<[children: string[], stat: ZkStat]>): number;
  a_set(path: string, data: Buffer, version: number, cb: Callback<[stat: ZkStat | null]>): number;
  a_delete_(path: string, version: number, cb: Callback<[]>): number;
  a_sync(path: string, cb: Callback<[path: string]>): number;
}

/** The binding's handle. Every `a_*`/`aw_*` method returns a synchronous rc; non-zero means no callback. */
export interface NativeZooKeeper {
  /** The native object the class wraps: the same requests without the wrapper's logging. */
  readonly native: NativeRequests;
  init(config: Record<string, unknown>): unknown;
  close(): unknown;
  on(event: "connect" | "connecting", listener: () => void): unknown;
  on(event: "close", listener: (self: unknown, code: number) => void): unknown;
  on(event: NativeWatchEvent, listener: (self: unknown, path: string) => void): unknown;
  removeAllListeners(): unknown;
  readonly state: number;
  readonly timeout: number;
  readonly client_id: string;
  readonly client_password: string;
  a_set_acl(path: string, version: number, acl: ZkAcl[], cb: Callback<[]>): number;
  add_auth(scheme: string, auth: string, cb: Callback<[]>): number;
}

type NativeConstructor = new (config: Record<string, unknown>) => NativeZooKeeper;

const require = createRequire(import.meta.url);

/** Loads the binding lazily, so that importing this package never loads native code by itself. */
export function loadBinding(): NativeConstructor {
  return require("zookeeper") as NativeConstructor;
}

/** Return codes of the C client (zookeeper.h). */
export const Rc = {
  OK: 0,
  SYSTEMERROR: -1,
  CONNECTIONLOSS: -4,
  OPERATIONTIMEOUT: -7,
  INVALIDSTATE: -9,
  UNIMPLEMENTED: -6,
  NONODE: -101,
  NOAUTH: -102,
  BADVERSION: -103,
  NODEEXISTS: -110,
  NOTEMPTY: -111,
  SESSIONEXPIRED: -112,
  AUTHFAILED: -115,
  CLOSING: -116,
} as const;

/** Watch event types (ZOO_*_EVENT). */
export const WatchType = {
  CREATED: 1,
  DELETED: 2,
  CHANGED: 3,
  CHILD: 4,
  SESSION: -1,
  NOTWATCHING: -2,
} as const;

/** Create flags. */
export const CreateFlag = {
  PERSISTENT: 0,
  EPHEMERAL: 1,
  PERSISTENT_SEQUENTIAL: 2,
  /** Needs `zookeeper.extendedTypesEnabled=true` on the server; otherwise the create fails with `UNIMPLEMENTED`. */
  PERSISTENT_SEQUENTIAL_WITH_TTL: 6,
} as const;

/** ZOO_PERM_ALL and ZOO_PERM_READ. */
export const Perm = { READ: 1, ALL: 31 } as const;

/** The C client's close code for an expired session (ZOO_EXPIRED_SESSION_STATE). */
export const EXPIRED_SESSION_STATE = -112;

/**
 * True for return codes that say nothing reached the server or came back from it (connection loss,
 * timeout, closed or expired handle): such a reply proves nothing about the session.
 */
export function isConnectionRc(rc: number): boolean {
  return (rc <= Rc.SYSTEMERROR && rc >= Rc.INVALIDSTATE) || rc === Rc.SESSIONEXPIRED || rc === Rc.CLOSING;
}
