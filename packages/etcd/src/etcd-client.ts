import type { ConnectionUrl } from "@rollcall/core/driver";
import { ConsecutiveBreaker, circuitBreaker, handleWhen, noop } from "cockatiel";
import { Etcd3, type IOptions } from "etcd3";
import { countsAgainstHost } from "./errors.js";
import { type EtcdOptions, readTlsFiles } from "./etcd-options.js";

/**
 * The etcd3 client of a driver: every URL host (or just `endpoints`), TLS from the `ca`/`cert`/`key` files, auth from the
 * URL's user info, a deadline on every unary call, and no retries of etcd3's own (the driver
 * retries, so that each operation knows when it is being retried).
 */
export async function createEtcdClient(
  options: EtcdOptions,
  url: ConnectionUrl,
  callTimeout: () => number,
  endpoints: readonly string[] = options.endpoints,
): Promise<Etcd3> {
  const scheme = options.tls ? "https" : "http";
  const config: IOptions = {
    hosts: endpoints.map((endpoint) => `${scheme}://${endpoint}`),
    // Reconnect within a second after a node comes back (gRPC's default backoff grows to 120 s).
    grpcOptions: { "grpc.initial_reconnect_backoff_ms": 100, "grpc.max_reconnect_backoff_ms": 1000 },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeout() }),
    faultHandling: {
      global: noop,
      // A host that failed three times in a row is skipped for a second (our own stream
      // cancellations do not count).
      host: () =>
        circuitBreaker(handleWhen(countsAgainstHost), {
          halfOpenAfter: 1000,
          breaker: new ConsecutiveBreaker(3),
        }),
    },
  };
  if (options.tls) {
    const files = await readTlsFiles(options);
    if (files.rootCertificate !== undefined || files.certChain !== undefined) {
      // gRPC uses the system's roots when rootCertificate is null (etcd3's type says Buffer).
      config.credentials = {
        rootCertificate: files.rootCertificate ?? (null as unknown as Buffer),
        ...(files.certChain === undefined ? {} : { certChain: files.certChain }),
        ...(files.privateKey === undefined ? {} : { privateKey: files.privateKey }),
      };
    }
  }
  if (url.username !== undefined) config.auth = { username: url.username, password: url.password ?? "" };
  return new Etcd3(config);
}
