import { WireConnection } from "./wire.js";

/**
 * Just enough of ZooKeeper's client protocol (jute, length-prefixed frames) to create one znode as a
 * digest-authenticated user, for `secureZooKeeper()`: connect, `addauth digest`, `create`, `close`.
 */

/** A ZooKeeper ACL entry. */
export interface ZooKeeperAcl {
  /** Permission bits: READ 1, WRITE 2, CREATE 4, DELETE 8, ADMIN 16 (ALL 31). */
  perms: number;
  /** `world`, `auth`, `digest`, `ip`. */
  scheme: string;
  /** `anyone` for `world`; `""` for `auth` (the session's own identities). */
  id: string;
}

const frame = (bytes: Buffer): number | undefined =>
  bytes.length < 4 ? undefined : 4 + bytes.readInt32BE(0);

class Jute {
  readonly #parts: Buffer[] = [];
  int(value: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(value);
    this.#parts.push(b);
    return this;
  }
  long(value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(value);
    this.#parts.push(b);
    return this;
  }
  bool(value: boolean): this {
    this.#parts.push(Buffer.from([value ? 1 : 0]));
    return this;
  }
  buffer(value: Buffer): this {
    this.int(value.length);
    this.#parts.push(value);
    return this;
  }
  string(value: string): this {
    return this.buffer(Buffer.from(value, "utf8"));
  }
  /** The record as one frame: its length, then its bytes. */
  frame(): Buffer {
    const body = Buffer.concat(this.#parts);
    const length = Buffer.alloc(4);
    length.writeInt32BE(body.length);
    return Buffer.concat([length, body]);
  }
}

/** ZooKeeper's error codes that may come back here, for messages. */
const ERRORS: Readonly<Record<number, string>> = {
  [-101]: "NONODE",
  [-102]: "NOAUTH",
  [-110]: "NODEEXISTS",
  [-114]: "INVALIDACL",
  [-115]: "AUTHFAILED",
};

/** Reads the reply with `xid` (skipping notifications) and throws unless its error code is 0. */
async function reply(connection: WireConnection, xid: number, what: string): Promise<void> {
  for (;;) {
    const message = await connection.read();
    // frame length, then the reply header: xid, zxid, err
    if (message.readInt32BE(4) !== xid) continue;
    const err = message.readInt32BE(16);
    if (err !== 0) throw new Error(`zookeeper: ${what}: ${ERRORS[err] ?? "error"} (${err})`);
    return;
  }
}

/**
 * Opens a session on `host:port`, authenticates with `digest` (`user:password`), creates the persistent
 * znode `path` (empty) with `acl`, and closes the session.
 *
 * @throws when the server refuses any step (with ZooKeeper's error name), or after `timeoutMs`.
 */
export async function createZnodeAs(
  host: string,
  port: number,
  digest: string,
  path: string,
  acl: readonly ZooKeeperAcl[],
  timeoutMs = 10_000,
): Promise<void> {
  const connection = await WireConnection.open(host, port, frame, timeoutMs);
  try {
    const connect = new Jute().int(0).long(0n).int(10_000).long(0n).buffer(Buffer.alloc(16)).bool(false);
    connection.write(connect.frame());
    const accepted = await connection.read();
    // frame length, protocol version, then the negotiated timeout: 0 when the session is refused
    if (accepted.readInt32BE(8) <= 0) throw new Error("zookeeper: the server refused the session");
    connection.write(new Jute().int(-4).int(100).int(0).string("digest").string(digest).frame());
    await reply(connection, -4, "addauth digest");
    const create = new Jute().int(1).int(1).string(path).buffer(Buffer.alloc(0)).int(acl.length);
    for (const entry of acl) create.int(entry.perms).string(entry.scheme).string(entry.id);
    connection.write(create.int(0).frame());
    await reply(connection, 1, `create ${path}`);
    // closing the session removes nothing here (the znode is persistent); wait a little for the server to end it
    await connection.close(new Jute().int(2).int(-11).frame(), 1000);
  } finally {
    await connection.close();
  }
}
