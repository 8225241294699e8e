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
    grpcOptions: {
      // Reconnect within a second after a node comes back (gRPC's default backoff grows to 120 s).
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1000,
      // Answers as large as etcd sends them, like etcd's own Go client (MaxCallRecvMsgSize = MaxInt32):
      // gRPC's default of 4 MiB fails a listing of many large values, or a watch catching up on them.
      "grpc.max_receive_message_length": 2 ** 31 - 1,
    },
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
  const client = new Etcd3(config);
  keepChannels(client);
  return client;
}

/** What closing needs of a gRPC service client (`@grpc/grpc-js`'s `Client`, which etcd3 creates per service). */
interface GrpcServiceClient {
  getChannel(): { getConnectivityState(tryToConnect: boolean): number };
  waitForReady(deadline: number, callback: (error?: Error) => void): void;
}

/** `@grpc/grpc-js` `connectivityState.CONNECTING` and `.TRANSIENT_FAILURE`. */
const CONNECTING = 1;
const TRANSIENT_FAILURE = 3;

/** What this module touches of an etcd3 1.1.2 `Host` (`pool.hosts[]`; etcd3 is pinned to that version). */
interface EtcdHost {
  cachedServices?: object;
  resetAllServices?: () => void;
}

function hostsOf(client: Etcd3): EtcdHost[] {
  return (client as unknown as { pool?: { hosts?: EtcdHost[] } }).pool?.hosts ?? [];
}

/**
 * Stops etcd3 from closing a host's gRPC channels after every failed call (its `resetAllServices`, a
 * habit from the old native gRPC): `@grpc/grpc-js` channels reconnect by themselves, and a channel closed
 * while its connection is backing off to a member that is down leaves the shared subchannel orphaned —
 * still due to retry once, it connects when the member comes back and keeps that connection open for the
 * life of the process, owned by no client. Measured here: a member killed for 4 s and restarted under
 * load left such a connection in about one run out of five. {@link closeEtcdClient} closes the channels.
 */
function keepChannels(client: Etcd3): void {
  for (const host of hostsOf(client)) host.resetAllServices = () => {};
}

/** The gRPC service clients etcd3 holds per host. */
function serviceClients(client: Etcd3): GrpcServiceClient[] {
  return hostsOf(client).flatMap((host) =>
    Object.values(host.cachedServices ?? {}).filter(
      (service): service is GrpcServiceClient =>
        typeof (service as Partial<GrpcServiceClient> | undefined)?.waitForReady === "function",
    ),
  );
}

/**
 * Closes an etcd3 client so that none of its connections outlives it: channels that are connecting or
 * backing off (a member that was killed and came back) get until `timeoutMs` to settle first, since a
 * channel closed in that state can leave an orphaned connection behind (see {@link keepChannels}).
 */
export async function closeEtcdClient(client: Etcd3, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const unsettled = serviceClients(client).filter((service) => {
    const state = service.getChannel().getConnectivityState(false);
    return state === CONNECTING || state === TRANSIENT_FAILURE;
  });
  await Promise.all(
    unsettled.map(
      (service) => new Promise<void>((resolve) => service.waitForReady(deadline, () => resolve())),
    ),
  );
  // Back to etcd3's own resetAllServices, which close() uses to close the channels.
  for (const host of hostsOf(client)) delete host.resetAllServices;
  client.close();
}
