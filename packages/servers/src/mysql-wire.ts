import { createHash } from "node:crypto";
import { WireConnection } from "./wire.js";

/**
 * A minimal MySQL/MariaDB client (protocol 4.1, `mysql_native_password`, text results of COM_QUERY) for
 * {@link Server.stats}.
 */

/** Where and as whom to connect. */
export interface MysqlConnectOptions {
  host: string;
  port: number;
  user: string;
  /** Empty or undefined for none. */
  password?: string;
  /** Deadline of the whole session, connecting included. */
  timeoutMs: number;
}

/** An ERR packet of the server. */
export class MysqlError extends Error {
  /** The error number, such as 1045 (access denied). */
  readonly errno: number;

  /**
   * @param message - the server's message.
   * @param errno - its error number.
   */
  constructor(message: string, errno: number) {
    super(message);
    this.name = "MysqlError";
    this.errno = errno;
  }
}

/** An open session. */
export interface MysqlSession {
  /** Run one statement; the rows of its result set as text (null for NULL), none for a statement without. */
  query(sql: string): Promise<(string | null)[][]>;
  /** Send COM_QUIT and wait (up to 500 ms) until the server has closed the connection. */
  close(): Promise<void>;
}

const framer = (bytes: Buffer): number | undefined =>
  bytes.length < 4 ? undefined : 4 + ((bytes[0] ?? 0) | ((bytes[1] ?? 0) << 8) | ((bytes[2] ?? 0) << 16));

const CLIENT_LONG_PASSWORD = 0x1;
const CLIENT_LONG_FLAG = 0x4;
const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_TRANSACTIONS = 0x2000;
const CLIENT_SECURE_CONNECTION = 0x8000;
const CLIENT_MULTI_RESULTS = 0x20000;
const CLIENT_PLUGIN_AUTH = 0x80000;

/** A packet with its sequence number. */
function packet(sequence: number, payload: Buffer): Buffer {
  const header = Buffer.from([
    payload.length & 0xff,
    (payload.length >> 8) & 0xff,
    payload.length >> 16,
    sequence,
  ]);
  return Buffer.concat([header, payload]);
}

function errorOf(payload: Buffer): MysqlError {
  const errno = payload.readUInt16LE(1);
  const text = payload.toString("utf8", payload[3] === 0x23 ? 9 : 3);
  return new MysqlError(text, errno);
}

/** `mysql_native_password`: SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))). */
function nativePassword(password: string, scramble: Buffer): Buffer {
  if (password === "") return Buffer.alloc(0);
  const sha1 = (...parts: Buffer[]): Buffer => {
    const hash = createHash("sha1");
    for (const part of parts) hash.update(part);
    return hash.digest();
  };
  const once = sha1(Buffer.from(password, "utf8"));
  const mask = sha1(scramble, sha1(once));
  return Buffer.from(once.map((byte, i) => byte ^ (mask[i] ?? 0)));
}

/** A length-encoded integer at `offset`: its value and the offset after it. */
function lengthEncoded(payload: Buffer, offset: number): { value: number; next: number } {
  const first = payload[offset] ?? 0;
  if (first < 0xfb) return { value: first, next: offset + 1 };
  if (first === 0xfc) return { value: payload.readUInt16LE(offset + 1), next: offset + 3 };
  if (first === 0xfd) return { value: payload.readUIntLE(offset + 1, 3), next: offset + 4 };
  return { value: Number(payload.readBigUInt64LE(offset + 1)), next: offset + 9 };
}

/** An EOF packet (0xfe and shorter than 9 bytes; a longer one starting with 0xfe is a row). */
function isEof(payload: Buffer): boolean {
  return payload[0] === 0xfe && payload.length < 9;
}

/**
 * Open a session as `user` with `mysql_native_password` (answering an AuthSwitchRequest for it too).
 *
 * @throws {@link MysqlError} when the server refuses; other errors when it cannot be reached in time.
 */
export async function mysqlConnect(options: MysqlConnectOptions): Promise<MysqlSession> {
  const connection = await WireConnection.open(options.host, options.port, framer, options.timeoutMs);
  let sequence = 0;
  const read = async (): Promise<Buffer> => {
    const bytes = await connection.read();
    sequence = (bytes[3] ?? 0) + 1;
    return bytes.subarray(4);
  };
  const send = (payload: Buffer): void => {
    connection.write(packet(sequence & 0xff, payload));
    sequence++;
  };
  try {
    const handshake = await read();
    if (handshake[0] === 0xff) throw errorOf(handshake);
    if (handshake[0] !== 0x0a) throw new Error(`unexpected protocol version ${handshake[0]}`);
    let offset = handshake.indexOf(0, 1) + 1 + 4; // server version, connection id
    const scramble1 = handshake.subarray(offset, offset + 8);
    offset += 8 + 1 + 2 + 1 + 2 + 2; // filler, capabilities (low), character set, status, capabilities (high)
    const authLength = handshake[offset] ?? 0;
    offset += 1 + 10;
    const part2Length = Math.max(13, authLength - 8);
    const scramble2 = handshake.subarray(offset, offset + part2Length - 1); // without its NUL
    const scramble = Buffer.concat([scramble1, scramble2]);
    const password = options.password ?? "";
    const token = nativePassword(password, scramble);
    const head = Buffer.alloc(32);
    head.writeUInt32LE(
      CLIENT_LONG_PASSWORD |
        CLIENT_LONG_FLAG |
        CLIENT_PROTOCOL_41 |
        CLIENT_TRANSACTIONS |
        CLIENT_SECURE_CONNECTION |
        CLIENT_MULTI_RESULTS |
        CLIENT_PLUGIN_AUTH,
      0,
    );
    head.writeUInt32LE(16 * 1024 * 1024, 4);
    head[8] = 45; // utf8mb4_general_ci
    send(
      Buffer.concat([
        head,
        Buffer.from(`${options.user}\0`, "utf8"),
        Buffer.from([token.length]),
        token,
        Buffer.from("mysql_native_password\0", "latin1"),
      ]),
    );
    for (;;) {
      const answer = await read();
      if (answer[0] === 0x00) break;
      if (answer[0] === 0xff) throw errorOf(answer);
      if (answer[0] === 0xfe) {
        // AuthSwitchRequest: plugin name, then its scramble
        const end = answer.indexOf(0, 1);
        const plugin = answer.toString("latin1", 1, end);
        if (plugin !== "mysql_native_password") {
          throw new MysqlError(`unsupported authentication plugin ${plugin}`, 1251);
        }
        send(nativePassword(password, answer.subarray(end + 1, end + 21)));
        continue;
      }
      throw new Error(`unexpected authentication answer 0x${(answer[0] ?? 0).toString(16)}`);
    }
  } catch (error) {
    void connection.close();
    throw error;
  }
  return {
    async query(sql: string): Promise<(string | null)[][]> {
      sequence = 0;
      send(Buffer.concat([Buffer.from([0x03]), Buffer.from(sql, "utf8")]));
      const first = await read();
      if (first[0] === 0xff) throw errorOf(first);
      if (first[0] === 0x00) return [];
      const columns = lengthEncoded(first, 0).value;
      for (let i = 0; i < columns; i++) await read();
      if (!isEof(await read())) throw new Error("expected the end of the column definitions");
      const rows: (string | null)[][] = [];
      for (;;) {
        const payload = await read();
        if (payload[0] === 0xff) throw errorOf(payload);
        if (isEof(payload)) break;
        const row: (string | null)[] = [];
        for (let i = 0, offset = 0; i < columns; i++) {
          if (payload[offset] === 0xfb) {
            row.push(null);
            offset++;
            continue;
          }
          const { value, next } = lengthEncoded(payload, offset);
          row.push(payload.toString("utf8", next, next + value));
          offset = next + value;
        }
        rows.push(row);
      }
      return rows;
    },
    close(): Promise<void> {
      return connection.close(packet(0, Buffer.from([0x01])), 500);
    },
  };
}
