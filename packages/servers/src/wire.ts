import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { type TlsFiles, tlsOptions } from "./probes.js";

/**
 * How a protocol cuts its byte stream into messages: the length of the first complete message in `bytes`,
 * or undefined while it is incomplete.
 */
export type Framer = (bytes: Buffer) => number | undefined;

/**
 * A TCP connection read one protocol message at a time, with one deadline for everything: when it passes,
 * or the connection fails or closes, every pending and later {@link WireConnection.read} rejects and the
 * socket is destroyed. For the small administrative clients of {@link Server.stats}.
 */
export class WireConnection {
  #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #framer: Framer;
  #failure: Error | undefined;
  #waiter: { resolve: (message: Buffer) => void; reject: (error: Error) => void } | undefined;
  /** Rejects the promise of {@link WireConnection.open} or {@link WireConnection.startTls}. */
  #onFailure: ((error: Error) => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #where: string;

  private constructor(socket: Socket, framer: Framer, timeoutMs: number, where: string) {
    this.#socket = socket;
    this.#framer = framer;
    this.#where = where;
    this.#timer = setTimeout(() => this.#fail(new Error(`timeout talking to ${where}`)), timeoutMs);
    this.#listen(socket);
  }

  /**
   * Connect to `host:port`; resolves once connected.
   *
   * @param timeoutMs - deadline of the whole conversation, connecting included.
   */
  static open(host: string, port: number, framer: Framer, timeoutMs: number): Promise<WireConnection> {
    const socket = connect({ host, port });
    const connection = new WireConnection(socket, framer, timeoutMs, `${host}:${port}`);
    return new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(connection));
      connection.#onFailure = reject;
    });
  }

  #listen(socket: Socket): void {
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#deliver();
    });
    socket.on("error", (error) => this.#fail(error));
    socket.on("close", () => this.#fail(new Error(`${this.#where} closed the connection`)));
  }

  #fail(error: Error): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    clearTimeout(this.#timer);
    this.#socket.destroy();
    this.#onFailure?.(error);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
  }

  #deliver(): void {
    if (this.#waiter === undefined) return;
    const length = this.#framer(this.#buffer);
    if (length === undefined || length > this.#buffer.length) return;
    const message = this.#buffer.subarray(0, length);
    this.#buffer = this.#buffer.subarray(length);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter.resolve(message);
  }

  /** The next complete message. */
  read(): Promise<Buffer> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#waiter !== undefined) return Promise.reject(new Error("read already pending"));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#deliver();
    });
  }

  /** Cut the stream with another framer from now on. */
  setFramer(framer: Framer): void {
    this.#framer = framer;
  }

  /** Send bytes. */
  write(bytes: Buffer): void {
    if (this.#failure === undefined) this.#socket.write(bytes);
  }

  /**
   * Upgrade the connection to TLS (the server certificate must be signed by the CA and name `host`; the
   * client certificate is presented). Resolves when the handshake is done.
   */
  startTls(host: string, files: TlsFiles): Promise<void> {
    const plain = this.#socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    plain.removeAllListeners("error");
    plain.on("error", (error) => this.#fail(error));
    const secure = tlsConnect({ socket: plain, host, ...tlsOptions(files) });
    this.#socket = secure;
    this.#listen(secure);
    return new Promise((resolve, reject) => {
      if (this.#failure !== undefined) {
        reject(this.#failure);
        return;
      }
      this.#onFailure = reject;
      secure.once("secureConnect", () => resolve());
    });
  }

  /**
   * Send `goodbye` (if any) and close the connection. With `waitMs`, wait that long at most for the server
   * to close its end first (it then has finished with the session); else close at once.
   */
  close(goodbye?: Buffer, waitMs = 0): Promise<void> {
    if (this.#failure !== undefined) return Promise.resolve();
    this.#failure = new Error("closed");
    clearTimeout(this.#timer);
    const socket = this.#socket;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      socket.once("close", done);
      if (goodbye !== undefined) socket.write(goodbye);
      if (waitMs === 0) socket.destroySoon();
    });
  }
}
