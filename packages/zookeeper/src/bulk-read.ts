import { connect, type Socket } from "node:net";
import type { ServerAddress } from "./server-address.js";
import { Rc } from "./zk-binding.js";

/**
 * Reads the data and stat of many znodes at once with ZooKeeper's `multiRead` (opcode 22, servers 3.6 and
 * later), on a short-lived session of its own spoken over a plain socket: the binding (npm `zookeeper`
 * 7.3.0, on the C client) has no multi-read, and one `getData` per member costs the server a trip through
 * its request pipeline each — measured here 10,000 reads: ~1.6 s of server CPU one by one, 20–40 ms as
 * multi-reads.
 *
 * Consistency: the connection sends `sync` before reading, so its server has applied every write the
 * ensemble committed before; a caller that listed the group (after its own `sync`) first reads every member
 * at least as new as its listing — as the one-by-one reads on its own session did. The data of a znode is
 * only ever what ZooKeeper returns for it; nothing is cached.
 *
 * Anything unexpected — a server without `multiRead` (it drops the connection), refused credentials, a
 * timeout, a reply that does not parse — rejects, and the caller reads one by one instead.
 */

/** What a multi-read returns per znode: its data as UTF-8 text, and the stat fields a snapshot uses. */
export interface BulkRead {
  text: string;
  stat: { czxid: number; mzxid: number; ctime: Date; mtime: Date; version: number };
}

/** What {@link readMany} needs. */
export interface BulkReadOptions {
  addresses: readonly ServerAddress[];
  /** Requested session timeout of the short-lived session, ms. */
  sessionTimeout: number;
  /** `user:password` for digest auth (reads of znodes whose ACL needs it). Never logged. */
  digest?: string | undefined;
  /** A path to `sync` before reading (the group's). */
  syncPath: string;
  /** The whole read, connection included, must finish within this many ms. */
  deadline: number;
  /** Reads per multi-read request (default {@link BULK_READ_BATCH}). */
  batch?: number;
}

/**
 * Reads per multi-read request. The server builds each reply whole, so this bounds one reply to 250 members'
 * data (at most 16 MiB at the 64 KiB metadata limit; a few tens of KiB with small metadata); 10,000 members
 * take 40 requests, which cost the server about as little as 10 (measured 20–40 ms of its CPU either way).
 */
export const BULK_READ_BATCH = 250;

/** How long a server is given to accept the connection, ms. */
const CONNECT_TIMEOUT = 1000;

const OP_SYNC = 9;
const OP_GET_DATA = 4;
const OP_MULTI_READ = 22;
const OP_CLOSE = -11;
const OP_AUTH = 100;
const OP_ERROR = -1;
const XID_AUTH = -4;
const STAT_BYTES = 68;

/** A reply frame: the request's xid, its error code, and a reader positioned after the header. */
interface Reply {
  xid: number;
  err: number;
  body: Reader;
}

/**
 * Reads every path's data and stat (`null` for a znode that does not exist), in the order given.
 * @throws Error when the bulk path cannot be used (see the module's comment); the caller falls back.
 */
export async function readMany(
  options: BulkReadOptions,
  paths: readonly string[],
): Promise<(BulkRead | null)[]> {
  const batch = options.batch ?? BULK_READ_BATCH;
  const connection = await Connection.open(options);
  try {
    if (options.digest !== undefined) {
      const auth = new Writer().int(0).string("digest").buffer(Buffer.from(options.digest));
      const reply = await connection.send(OP_AUTH, auth, XID_AUTH);
      if (reply.err !== Rc.OK) throw new Error(`the credentials were refused (rc ${reply.err})`);
    }
    // Pipelined: the server answers a session's requests in order, the reads after the sync.
    const synced = connection.send(OP_SYNC, new Writer().string(options.syncPath));
    const batches: Promise<(BulkRead | null)[]>[] = [];
    for (let from = 0; from < paths.length; from += batch) {
      const slice = paths.slice(from, from + batch);
      const request = new Writer(slice.reduce((n, path) => n + path.length * 3 + 14, 32));
      for (const path of slice) request.int(OP_GET_DATA).bool(false).int(-1).string(path).bool(false);
      request.int(-1).bool(true).int(-1);
      batches.push(
        connection.send(OP_MULTI_READ, request).then((reply) => parseMultiRead(reply, slice.length)),
      );
    }
    const all = Promise.all(batches);
    all.catch(() => {}); // awaited below, unless the sync fails first
    const sync = await synced;
    if (sync.err !== Rc.OK) throw new Error(`sync failed (rc ${sync.err})`);
    return (await all).flat();
  } finally {
    connection.close();
  }
}

function parseMultiRead(reply: Reply, expected: number): (BulkRead | null)[] {
  if (reply.err !== Rc.OK) throw new Error(`multiRead failed (rc ${reply.err})`);
  const r = reply.body;
  const results: (BulkRead | null)[] = [];
  for (;;) {
    const type = r.int();
    const done = r.bool();
    r.int(); // err of the header; an error result carries its own
    if (done) break;
    if (type === OP_GET_DATA) {
      const text = r.text();
      const czxid = r.long();
      const mzxid = r.long();
      const ctime = r.long();
      const mtime = r.long();
      const version = r.int();
      r.skip(STAT_BYTES - 4 * 8 - 4);
      results.push({
        text,
        stat: { czxid, mzxid, ctime: new Date(ctime), mtime: new Date(mtime), version },
      });
    } else if (type === OP_ERROR) {
      const err = r.int();
      if (err !== Rc.NONODE) throw new Error(`a read in a multiRead failed (rc ${err})`);
      results.push(null);
    } else {
      throw new Error(`unexpected result type ${type} in a multiRead reply`);
    }
  }
  if (results.length !== expected)
    throw new Error(`multiRead answered ${results.length} of ${expected} reads`);
  return results;
}

/** One short-lived session: connect, requests answered in order, close. */
class Connection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly pending = new Map<number, (reply: Reply) => void>();
  private readonly rejects = new Set<(error: Error) => void>();
  private nextXid = 1;
  private failure: Error | undefined;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly socket: Socket,
    deadline: number,
  ) {
    this.timer = setTimeout(() => this.fail(new Error(`no answer within ${deadline} ms`)), deadline);
    this.timer.unref();
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("the server closed the connection")));
  }

  /**
   * Connects to the first server that accepts (each given at most {@link CONNECT_TIMEOUT} ms: a server cut
   * off must not hold the snapshot up) and opens a session on it.
   */
  static async open(options: BulkReadOptions): Promise<Connection> {
    const started = performance.now();
    let lastError: unknown;
    for (const address of options.addresses) {
      const left = options.deadline - (performance.now() - started);
      if (left <= 0) break;
      let socket: Socket | undefined;
      try {
        socket = await connectSocket(address, Math.min(left, CONNECT_TIMEOUT));
        const connection = new Connection(socket, left);
        await connection.handshake(options.sessionTimeout);
        return connection;
      } catch (error) {
        socket?.destroy();
        lastError = error;
      }
    }
    throw lastError instanceof Error ? lastError : new Error("no server accepted a connection");
  }

  private handshake(sessionTimeout: number): Promise<void> {
    const request = new Writer()
      .int(0)
      .long(0)
      .int(sessionTimeout)
      .long(0)
      .buffer(Buffer.alloc(16))
      .bool(false);
    return new Promise((resolve, reject) => {
      // The connect response is the only frame without a reply header.
      this.pending.set(0, (reply) => {
        this.rejects.delete(reject);
        const timeout = reply.body.int();
        if (timeout <= 0) reject(new Error("the server refused the session"));
        else resolve();
      });
      this.rejects.add(reject);
      this.socket.write(request.frame());
    });
  }

  send(type: number, body: Writer, xid = this.nextXid++): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(xid, (reply) => {
        this.rejects.delete(reject);
        resolve(reply);
      });
      this.rejects.add(reject);
      this.socket.write(new Writer(body.size + 16).int(xid).int(type).append(body).frame());
    });
  }

  /** Collects chunks, and joins them only once a whole frame is in (replies can be megabytes). */
  private receive(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 4) return;
      let head = this.chunks[0] as Buffer;
      if (head.length < 4) head = this.join();
      const length = head.readInt32BE(0);
      if (this.buffered < 4 + length) return;
      head = this.chunks.length > 1 && head.length < 4 + length ? this.join() : head;
      const frame = new Reader(head.subarray(4, 4 + length));
      const rest = head.subarray(4 + length);
      this.chunks.shift();
      if (rest.length > 0) this.chunks.unshift(rest);
      this.buffered -= 4 + length;
      try {
        this.dispatch(frame);
      } catch (error) {
        this.fail(error instanceof Error ? error : new Error(String(error)));
        return;
      }
    }
  }

  private join(): Buffer {
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }

  private dispatch(frame: Reader): void {
    const connecting = this.pending.get(0);
    if (connecting) {
      this.pending.delete(0);
      frame.int(); // protocol version
      connecting({ xid: 0, err: Rc.OK, body: frame });
      return;
    }
    const xid = frame.int();
    frame.long(); // zxid
    const err = frame.int();
    if (xid === -1) return; // a watch event: none are set here
    if (xid === -2) return; // a ping reply: none are sent here
    const resolve = this.pending.get(xid);
    if (!resolve) throw new Error(`a reply to unknown request ${xid}`);
    this.pending.delete(xid);
    resolve({ xid, err, body: frame });
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    clearTimeout(this.timer);
    for (const reject of this.rejects) reject(error);
    this.rejects.clear();
    this.pending.clear();
    this.socket.destroy();
  }

  /**
   * Ends the session (it holds no ephemeral znodes) and the connection: the close request goes out, and the
   * socket is destroyed once the server has closed its side, or after a second.
   */
  close(): void {
    clearTimeout(this.timer);
    if (this.failure) return;
    this.failure = new Error("closed");
    this.socket.end(
      new Writer()
        .int(this.nextXid++)
        .int(OP_CLOSE)
        .frame(),
    );
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}

function connectSocket(address: ServerAddress, timeout: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("connect timed out"));
    }, timeout);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/**
 * Jute (ZooKeeper's serialization) writer: big-endian ints and longs, length-prefixed strings, into one
 * growing buffer whose first four bytes are the frame's length.
 */
class Writer {
  private bytes: Buffer;
  private length = 4;

  /** `capacity`: bytes expected, so that a large request is not copied as it grows. */
  constructor(capacity = 256) {
    this.bytes = Buffer.allocUnsafe(capacity);
  }

  private room(n: number): number {
    if (this.length + n > this.bytes.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.length + n));
      this.bytes.copy(bigger, 0, 0, this.length);
      this.bytes = bigger;
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  int(value: number): this {
    const at = this.room(4); // before reading this.bytes: room() may replace it
    this.bytes.writeInt32BE(value, at);
    return this;
  }

  long(value: number): this {
    const at = this.room(8);
    this.bytes.writeBigInt64BE(BigInt(value), at);
    return this;
  }

  bool(value: boolean): this {
    const at = this.room(1);
    this.bytes[at] = value ? 1 : 0;
    return this;
  }

  buffer(value: Buffer): this {
    this.int(value.length);
    const at = this.room(value.length);
    value.copy(this.bytes, at);
    return this;
  }

  string(value: string): this {
    const n = Buffer.byteLength(value, "utf8");
    this.int(n);
    const at = this.room(n);
    this.bytes.write(value, at, n, "utf8");
    return this;
  }

  /** Bytes written, without the length prefix. */
  get size(): number {
    return this.length - 4;
  }

  /** Appends another writer's content (without its length prefix). */
  append(other: Writer): this {
    const n = other.length - 4;
    const at = this.room(n);
    other.bytes.copy(this.bytes, at, 4, other.length);
    return this;
  }

  /** The bytes, prefixed with their length (a frame on the wire). */
  frame(): Buffer {
    this.bytes.writeInt32BE(this.length - 4, 0);
    return this.bytes.subarray(0, this.length);
  }
}

/** Jute reader over one frame; reading past its end throws. */
class Reader {
  private offset = 0;

  constructor(private readonly bytes: Buffer) {}

  private take(n: number): number {
    if (n < 0 || this.offset + n > this.bytes.length) throw new Error("a truncated reply");
    const at = this.offset;
    this.offset += n;
    return at;
  }

  int(): number {
    return this.bytes.readInt32BE(this.take(4));
  }

  /** A long as a JS number (zxids and times: exact while below 2^53, as the binding reports them). */
  long(): number {
    const at = this.take(8);
    return this.bytes.readInt32BE(at) * 2 ** 32 + this.bytes.readUInt32BE(at + 4);
  }

  bool(): boolean {
    return this.bytes[this.take(1)] !== 0;
  }

  /** A length-prefixed buffer (-1: null, read as empty), decoded as UTF-8. */
  text(): string {
    const length = this.int();
    if (length <= 0) return "";
    const at = this.take(length);
    return this.bytes.toString("utf8", at, at + length);
  }

  skip(n: number): void {
    this.take(n);
  }
}
