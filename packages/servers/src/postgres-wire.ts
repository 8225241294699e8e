import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import type { TlsFiles } from "./probes.js";
import { WireConnection } from "./wire.js";

/**
 * A minimal PostgreSQL client (protocol 3.0, simple queries, text results) for {@link Server.stats}: trust,
 * cleartext, md5 and SCRAM-SHA-256 authentication, and TLS like libpq's `sslmode=verify-full` with a client
 * certificate.
 */

/** Where and as whom to connect. */
export interface PgConnectOptions {
  host: string;
  port: number;
  user: string;
  database: string;
  /** Needed when the server asks for one. */
  password?: string;
  /** Ask for TLS (SSLRequest) and verify the server with these files. */
  tls?: TlsFiles;
  /** `application_name` of the session. */
  applicationName: string;
  /** Settings for the session, `-c name=value` each (the startup packet's `options`). */
  settings?: Readonly<Record<string, string | number>>;
  /** Deadline of the whole session, connecting included. */
  timeoutMs: number;
}

/** An ErrorResponse of the server. */
export class PgError extends Error {
  /** SQLSTATE, such as `57P03` (the database system is starting up). */
  readonly code: string;

  /**
   * @param message - the server's message.
   * @param code - its SQLSTATE.
   */
  constructor(message: string, code: string) {
    super(message);
    this.name = "PgError";
    this.code = code;
  }
}

/** The rows of one statement, as text (null for SQL NULL). */
export interface PgResult {
  columns: string[];
  rows: (string | null)[][];
}

/** An open session. */
export interface PgSession {
  /** Run one simple Query message (any number of statements); one result per statement that returns rows. */
  query(sql: string): Promise<PgResult[]>;
  /** Send Terminate and close. */
  close(): void;
}

const framer = (bytes: Buffer): number | undefined =>
  bytes.length < 5 ? undefined : 1 + bytes.readInt32BE(1);

/** A message: type byte, length (counting itself), body. */
function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, "latin1");
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function cstring(text: string): Buffer {
  return Buffer.from(`${text}\0`, "utf8");
}

function errorOf(body: Buffer): PgError {
  const fields = new Map<string, string>();
  for (let offset = 0; offset < body.length && body[offset] !== 0; ) {
    const end = body.indexOf(0, offset + 1);
    fields.set(String.fromCharCode(body[offset] ?? 0), body.toString("utf8", offset + 1, end));
    offset = end + 1;
  }
  return new PgError(fields.get("M") ?? "error", fields.get("C") ?? "");
}

/** Read the next message, throwing ErrorResponses; NoticeResponse and ParameterStatus are skipped. */
async function next(connection: WireConnection): Promise<{ type: string; body: Buffer }> {
  for (;;) {
    const bytes = await connection.read();
    const type = String.fromCharCode(bytes[0] ?? 0);
    const body = bytes.subarray(5);
    if (type === "E") throw errorOf(body);
    if (type === "N" || type === "S") continue;
    return { type, body };
  }
}

function xor(a: Buffer, b: Buffer): Buffer {
  return Buffer.from(a.map((byte, i) => byte ^ (b[i] ?? 0)));
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac("sha256", key).update(text).digest();
}

/** SCRAM-SHA-256 (RFC 7677) as PostgreSQL does it: the user name in the messages is empty. */
async function scram(connection: WireConnection, password: string): Promise<void> {
  const nonce = randomBytes(18).toString("base64");
  const clientFirstBare = `n=,r=${nonce}`;
  const first = Buffer.from(`n,,${clientFirstBare}`, "utf8");
  const length = Buffer.alloc(4);
  length.writeInt32BE(first.length);
  connection.write(message("p", Buffer.concat([cstring("SCRAM-SHA-256"), length, first])));
  const challenge = await next(connection);
  if (challenge.type !== "R" || challenge.body.readInt32BE(0) !== 11)
    throw new Error("unexpected SASL answer");
  const serverFirst = challenge.body.toString("utf8", 4);
  const fields = new Map(serverFirst.split(",").map((field) => [field[0], field.slice(2)]));
  const serverNonce = fields.get("r") ?? "";
  if (!serverNonce.startsWith(nonce)) throw new Error("SCRAM: the server's nonce does not extend ours");
  const salted = pbkdf2Sync(
    password,
    Buffer.from(fields.get("s") ?? "", "base64"),
    Number(fields.get("i")),
    32,
    "sha256",
  );
  const clientKey = hmac(salted, "Client Key");
  const storedKey = createHash("sha256").update(clientKey).digest();
  const finalWithoutProof = `c=biws,r=${serverNonce}`;
  const authMessage = `${clientFirstBare},${serverFirst},${finalWithoutProof}`;
  const proof = xor(clientKey, hmac(storedKey, authMessage)).toString("base64");
  connection.write(message("p", Buffer.from(`${finalWithoutProof},p=${proof}`, "utf8")));
  const final = await next(connection);
  if (final.type !== "R" || final.body.readInt32BE(0) !== 12) throw new Error("unexpected SASL answer");
  const signature = Buffer.from(/v=([^,]*)/.exec(final.body.toString("utf8", 4))?.[1] ?? "", "base64");
  const expected = hmac(hmac(salted, "Server Key"), authMessage);
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    throw new Error("SCRAM: the server's signature is wrong");
  }
}

/**
 * Open a session: TLS first if asked, then the startup packet and authentication, up to ReadyForQuery.
 *
 * @throws {@link PgError} when the server refuses (authentication, "the database system is starting up"…);
 *   other errors when it cannot be reached or the deadline passes.
 */
export async function pgConnect(options: PgConnectOptions): Promise<PgSession> {
  const connection = await WireConnection.open(
    options.host,
    options.port,
    options.tls === undefined ? framer : () => 1,
    options.timeoutMs,
  );
  try {
    if (options.tls !== undefined) {
      connection.write(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])); // SSLRequest
      const answer = await connection.read();
      if (answer[0] !== 0x53) throw new PgError("the server refused TLS", "08P01");
      connection.setFramer(framer);
      await connection.startTls(options.host, options.tls);
    }
    const settings = Object.entries(options.settings ?? {})
      .map(([name, value]) => `-c ${name}=${value}`)
      .join(" ");
    const parameters = Buffer.concat([
      ...[
        "user",
        options.user,
        "database",
        options.database,
        "application_name",
        options.applicationName,
      ].map(cstring),
      ...(settings === "" ? [] : [cstring("options"), cstring(settings)]),
      Buffer.from([0]),
    ]);
    const startup = Buffer.alloc(8);
    startup.writeInt32BE(8 + parameters.length, 0);
    startup.writeInt32BE(196_608, 4);
    connection.write(Buffer.concat([startup, parameters]));
    for (;;) {
      const { type, body } = await next(connection);
      if (type === "Z") break;
      if (type !== "R") continue; // BackendKeyData
      const method = body.readInt32BE(0);
      if (method === 0) continue;
      const password = options.password;
      if (password === undefined) throw new PgError("the server wants a password and none is known", "28000");
      if (method === 3) connection.write(message("p", cstring(password)));
      else if (method === 5) {
        const md5 = (data: Buffer | string): string => createHash("md5").update(data).digest("hex");
        const inner = md5(password + options.user);
        const outer = md5(Buffer.concat([Buffer.from(inner, "latin1"), body.subarray(4, 8)]));
        connection.write(message("p", cstring(`md5${outer}`)));
      } else if (method === 10) await scram(connection, password);
      else throw new PgError(`unsupported authentication method ${method}`, "28000");
    }
  } catch (error) {
    void connection.close();
    throw error;
  }
  return {
    async query(sql: string): Promise<PgResult[]> {
      connection.write(message("Q", cstring(sql)));
      const results: PgResult[] = [];
      let failure: PgError | undefined;
      for (;;) {
        let received: { type: string; body: Buffer };
        try {
          received = await next(connection);
        } catch (error) {
          if (!(error instanceof PgError)) throw error;
          failure ??= error; // the server still ends with ReadyForQuery
          continue;
        }
        const { type, body } = received;
        if (type === "Z") break;
        if (type === "T") {
          const columns: string[] = [];
          for (let i = 0, offset = 2; i < body.readInt16BE(0); i++) {
            const end = body.indexOf(0, offset);
            columns.push(body.toString("utf8", offset, end));
            offset = end + 1 + 18;
          }
          results.push({ columns, rows: [] });
        } else if (type === "D") {
          const row: (string | null)[] = [];
          for (let i = 0, offset = 2; i < body.readInt16BE(0); i++) {
            const length = body.readInt32BE(offset);
            offset += 4;
            row.push(length < 0 ? null : body.toString("utf8", offset, offset + length));
            offset += Math.max(0, length);
          }
          results.at(-1)?.rows.push(row);
        }
      }
      if (failure !== undefined) throw failure;
      return results;
    },
    close(): void {
      void connection.close(message("X", Buffer.alloc(0)));
    },
  };
}
