import {
  type DriverConfig,
  defineParams,
  driverOptions,
  RollcallError,
  readPemFile,
} from "@rollcall/core/driver";

/** etcd's default `--election-timeout`, in ms. */
export const DEFAULT_ELECTION_TIMEOUT = 1000;

/**
 * The URL query keys of the etcd backend (besides the common ones core reads). `ca`, `cert`, `key` are
 * the TLS keys every backend spells this way (the `node:tls` options they set).
 */
export const ETCD_PARAMS = defineParams({
  ca: { type: "file" },
  cert: { type: "file" },
  key: { type: "file" },
  electionTimeout: {
    type: "integer",
    min: 10,
    max: 600_000,
    default: DEFAULT_ELECTION_TIMEOUT,
    hint: "ms, etcd's --election-timeout",
  },
});

/** etcd's client port, used for a host given without one. */
export const DEFAULT_ETCD_PORT = 2379;

/** etcd lease TTLs are whole seconds, and the server raises anything below its minimum (2 s by default). */
export const MIN_SESSION_TIMEOUT = 2000;

/** What the driver needs from the URL, checked without I/O. */
export interface EtcdOptions {
  /** `host:port` targets for gRPC, in URL order (IPv6 in brackets). */
  endpoints: string[];
  /** Whether the scheme is `etcds://`. */
  tls: boolean;
  /** Paths of the PEM files named by `ca=`, `cert=`, `key=`. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** The lease TTL in whole seconds (from `sessionTimeout`). */
  ttlSeconds: number;
  /** The cluster's `--election-timeout` in ms: a silent lease is given 3 × this past its TTL before it counts as lost. */
  electionTimeout: number;
}

/**
 * Reads the etcd-specific parts of the configuration.
 * @throws RollcallError `INVALID_ARGUMENT` for a `sessionTimeout` etcd cannot apply, TLS keys on a
 * plain `etcd://` URL, or a client certificate without its key.
 */
export function readEtcdOptions(config: DriverConfig): EtcdOptions {
  const { url, sessionTimeout } = config;
  if (sessionTimeout < MIN_SESSION_TIMEOUT || sessionTimeout % 1000 !== 0) {
    const down = Math.max(MIN_SESSION_TIMEOUT, Math.floor(sessionTimeout / 1000) * 1000);
    const up = Math.max(MIN_SESSION_TIMEOUT, Math.ceil(sessionTimeout / 1000) * 1000);
    const hint = down === up ? `${up}` : `${down} or ${up}`;
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `invalid URL ${url.redacted}: sessionTimeout=${sessionTimeout} cannot be applied by etcd, whose lease TTLs are whole seconds of at least 2: use a multiple of 1000 from ${MIN_SESSION_TIMEOUT} (e.g. ${hint})`,
    );
  }
  const tls = url.scheme === "etcds";
  const { ca, cert, key, electionTimeout } = driverOptions(config, ETCD_PARAMS).options;
  const options: EtcdOptions = {
    endpoints: (url.hosts.length === 0 ? [{ host: "127.0.0.1" }] : url.hosts).map(({ host, port }) => {
      const name = host.includes(":") ? `[${host}]` : host;
      return `${name}:${port ?? DEFAULT_ETCD_PORT}`;
    }),
    tls,
    ttlSeconds: sessionTimeout / 1000,
    electionTimeout,
  };
  for (const [name, value] of [
    ["ca", ca],
    ["cert", cert],
    ["key", key],
  ] as const) {
    if (value !== undefined && !tls) {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `invalid URL ${url.redacted}: ${name}= is a TLS option: use etcds://`,
      );
    }
  }
  if (ca !== undefined) options.caFile = ca;
  if (cert !== undefined) options.certFile = cert;
  if (key !== undefined) options.keyFile = key;
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `invalid URL ${url.redacted}: a client certificate needs both cert= and key=`,
    );
  }
  return options;
}

/** The PEM contents for gRPC's TLS credentials. */
export interface TlsFiles {
  rootCertificate?: Buffer;
  certChain?: Buffer;
  privateKey?: Buffer;
}

/** Reads the files named by `ca=`, `cert=`, `key=`. */
export async function readTlsFiles(options: EtcdOptions): Promise<TlsFiles> {
  const files: TlsFiles = {};
  if (options.caFile !== undefined) files.rootCertificate = await readPemFile("ca", options.caFile);
  if (options.certFile !== undefined) files.certChain = await readPemFile("cert", options.certFile);
  if (options.keyFile !== undefined) files.privateKey = await readPemFile("key", options.keyFile);
  return files;
}
