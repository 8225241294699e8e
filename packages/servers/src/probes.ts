import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { CertificateFiles } from "./certificates.js";

/** Where a probe connects. */
export interface Endpoint {
  /** IPv4 address. */
  host: string;
  /** TCP port. */
  port: number;
  /** Speak TLS (HTTPS) with these PEM files (CA to verify the server, client certificate and key). */
  tls?: TlsFiles;
}

/** PEM files of a TLS client. */
export interface TlsFiles {
  /** The CA that signed the server certificate. */
  caFile: string;
  /** The client certificate. */
  certFile: string;
  /** Its key. */
  keyFile: string;
}

/** The client side of a server's certificates, for probes (undefined without TLS). */
export function clientFiles(certificates: CertificateFiles | undefined): TlsFiles | undefined {
  return certificates === undefined
    ? undefined
    : {
        caFile: certificates.caFile,
        certFile: certificates.clientCertFile,
        keyFile: certificates.clientKeyFile,
      };
}

/** Node's TLS options for {@link TlsFiles}. */
export function tlsOptions(files: TlsFiles): { ca: Buffer; cert: Buffer; key: Buffer } {
  return {
    ca: readFileSync(files.caFile),
    cert: readFileSync(files.certFile),
    key: readFileSync(files.keyFile),
  };
}

/** Options of {@link tcpExchange}. */
export interface TcpExchangeOptions {
  /** Resolve as soon as this returns true for the bytes received so far (else wait for the server to close). */
  until?: (received: Buffer) => boolean;
  /** Give up after this many milliseconds. Default 2000. */
  timeoutMs?: number;
}

/**
 * Connect to `endpoint`, send `payload`, and collect the reply.
 *
 * @returns the bytes received.
 * @throws on connection errors and timeout.
 */
export function tcpExchange(
  endpoint: Endpoint,
  payload: Buffer | string,
  options: TcpExchangeOptions = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const { host, port, tls } = endpoint;
    const socket =
      tls === undefined ? connect({ host, port }) : tlsConnect({ host, port, ...tlsOptions(tls) });
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    socket.setTimeout(options.timeoutMs ?? 2000, () =>
      finish(new Error(`timeout talking to ${host}:${port}`)),
    );
    socket.on(tls === undefined ? "connect" : "secureConnect", () => {
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
 * Make an HTTP request to `endpoint` (HTTPS when it has `tls`).
 *
 * @throws on connection errors and timeout.
 */
export function httpCall(
  endpoint: Endpoint,
  method: "GET" | "POST",
  path: string,
  body?: string,
  timeoutMs = 2000,
): Promise<HttpResponse> {
  const { host, port, tls } = endpoint;
  const secure = tls === undefined ? undefined : tlsOptions(tls);
  return new Promise((resolve, reject) => {
    const request = (secure === undefined ? httpRequest : httpsRequest)(
      {
        host,
        port,
        ...secure,
        method,
        path,
        timeout: timeoutMs,
        agent: false,
        headers: body === undefined ? {} : { "content-type": "application/json" },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          // close our end now, before the caller goes on: a connection still open would be counted by the
          // server (Server.stats counts etcd's established client connections)
          response.socket?.destroy();
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
        });
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error(`timeout talking to ${host}:${port}`)));
    request.on("error", reject);
    request.end(body);
  });
}
