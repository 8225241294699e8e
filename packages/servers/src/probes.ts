import { request as httpRequest } from "node:http";
import { connect } from "node:net";

/** Options of {@link tcpExchange}. */
export interface TcpExchangeOptions {
  /** Resolve as soon as this returns true for the bytes received so far (else wait for the server to close). */
  until?: (received: Buffer) => boolean;
  /** Give up after this many milliseconds. Default 2000. */
  timeoutMs?: number;
}

/**
 * Connect to 127.0.0.1:`port`, send `payload`, and collect the reply.
 *
 * @returns the bytes received.
 * @throws on connection errors and timeout.
 */
export function tcpExchange(
  port: number,
  payload: Buffer | string,
  options: TcpExchangeOptions = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = connect({ host: "127.0.0.1", port });
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    socket.setTimeout(options.timeoutMs ?? 2000, () => finish(new Error(`timeout talking to port ${port}`)));
    socket.on("connect", () => {
      if (payload.length > 0) socket.write(payload);
    });
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      if (options.until?.(Buffer.concat(chunks))) finish();
    });
    socket.on("end", () => finish());
    socket.on("error", (error) => finish(error));
  });
}

/** An HTTP response. */
export interface HttpResponse {
  /** Status code. */
  status: number;
  /** Body as text. */
  body: string;
}

/**
 * Make an HTTP request to 127.0.0.1:`port`.
 *
 * @throws on connection errors and timeout.
 */
export function httpCall(
  port: number,
  method: "GET" | "POST",
  path: string,
  body?: string,
  timeoutMs = 2000,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        timeout: timeoutMs,
        agent: false,
        headers: body === undefined ? {} : { "content-type": "application/json" },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error(`timeout talking to port ${port}`)));
    request.on("error", reject);
    request.end(body);
  });
}
