import { connect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { type TlsFiles, tcpExchange, tlsOptions } from "./probes.js";

/** Bytes of a protocol-3.0 StartupMessage for user postgres, database postgres. */
function startupMessage(): Buffer {
  const parameters = Buffer.from("user\0postgres\0database\0postgres\0\0", "latin1");
  const message = Buffer.alloc(8 + parameters.length);
  message.writeInt32BE(message.length, 0);
  message.writeInt32BE(196_608, 4);
  parameters.copy(message, 8);
  return message;
}

/**
 * The first message types the server sends back, stopping at ReadyForQuery, an error, or a request for a
 * password (`R` with a non-zero authentication type, shown as `P`).
 */
function replyTypes(bytes: Buffer): string[] {
  const types: string[] = [];
  for (let offset = 0; offset + 5 <= bytes.length; ) {
    const type = String.fromCharCode(bytes[offset] ?? 0);
    const length = bytes.readInt32BE(offset + 1);
    if (type === "R" && offset + 9 <= bytes.length && bytes.readInt32BE(offset + 5) !== 0) {
      types.push("P");
      break;
    }
    types.push(type);
    if (type === "Z" || type === "E") break;
    offset += 1 + length;
  }
  return types;
}

/**
 * Ready when a session for user postgres reaches ReadyForQuery, or is asked for its password (either way
 * the server is past "the database system is starting up").
 */
export async function acceptsSessions(host: string, port: number, tls?: TlsFiles): Promise<boolean> {
  if (tls !== undefined) return replyAccepts(await sslExchange(host, port, tls));
  const reply = await tcpExchange({ host, port }, startupMessage(), {
    timeoutMs: 1000,
    until: replyComplete,
  });
  return replyAccepts(reply);
}

function replyAccepts(reply: Buffer): boolean {
  const types = replyTypes(reply);
  return types.includes("Z") || types.includes("P");
}

function replyComplete(bytes: Buffer): boolean {
  const types = replyTypes(bytes);
  return types.includes("Z") || types.includes("E") || types.includes("P");
}

/** The SSLRequest message: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 4, 210, 22, 47]);

/**
 * Ask for TLS with an SSLRequest, upgrade the socket when the server answers `S`, then send the startup
 * message and collect the reply, as a libpq client with `sslmode=verify-full` would.
 */
function sslExchange(host: string, port: number, tls: TlsFiles, timeoutMs = 1000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const plain = connect({ host, port });
    const chunks: Buffer[] = [];
    let settled = false;
    let secure: ReturnType<typeof tlsConnect> | undefined;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      secure?.destroy();
      plain.destroy();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(() => finish(new Error(`timeout talking to ${host}:${port}`)), timeoutMs);
    plain.on("error", (error) => finish(error));
    plain.once("connect", () => plain.write(SSL_REQUEST));
    plain.once("data", (answer: Buffer) => {
      if (answer[0] !== 0x53) {
        finish(new Error("the server refused TLS"));
        return;
      }
      secure = tlsConnect({ socket: plain, host, ...tlsOptions(tls) });
      secure.on("error", (error) => finish(error));
      secure.once("secureConnect", () => secure?.write(startupMessage()));
      secure.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        if (replyComplete(Buffer.concat(chunks))) finish();
      });
      secure.on("end", () => finish());
    });
  });
}
