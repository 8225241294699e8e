import { readFile } from "node:fs/promises";
import { type DriverConfig, RollcallError } from "@rollcall/core/driver";

/** The URL query keys of the etcd backend (besides the common ones core reads). */
export const ETCD_PARAMS = ["ca", "cert", "key", "electionTimeout"] as const;

/** etcd's default `--election-timeout`, in ms. */
export const DEFAULT_ELECTION_TIMEOUT = 1000;

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
  const options: EtcdOptions = {
    endpoints: (url.hosts.length === 0 ? [{ host: "127.0.0.1" }] : url.hosts).map(({ host, port }) => {
      const name = host.includes(":") ? `[${host}]` : host;
      return `${name}:${port ?? DEFAULT_ETCD_PORT}`;
    }),
    tls,
    ttlSeconds: sessionTimeout / 1000,
    electionTimeout: DEFAULT_ELECTION_TIMEOUT,
  };
  const electionTimeout = url.params.get("electionTimeout");
  if (electionTimeout !== null) {
    const n = Number(electionTimeout);
    if (electionTimeout.trim() === "" || !Number.isInteger(n) || n < 10 || n > 600_000) {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `invalid URL ${url.redacted}: electionTimeout must be an integer from 10 to 600000 (ms, etcd's --election-timeout), got ${JSON.stringify(electionTimeout)}`,
      );
    }
    options.electionTimeout = n;
  }
  for (const key of ["ca", "cert", "key"] as const) {
    const value = url.params.get(key);
    if (value === null) continue;
    if (!tls) {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `invalid URL ${url.redacted}: ${key}= is a TLS option: use etcds://`,
      );
    }
    if (value.trim() === "") {
      throw new RollcallError(
        "INVALID_ARGUMENT",
        `invalid URL ${url.redacted}: ${key}= must name a PEM file`,
      );
    }
    if (key === "ca") options.caFile = value;
    else if (key === "cert") options.certFile = value;
    else options.keyFile = value;
  }
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

async function readPem(what: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new RollcallError(
      "INVALID_ARGUMENT",
      `cannot read the ${what} file ${JSON.stringify(path)} (${code})`,
      {
        cause: error,
      },
    );
  }
}

/** Reads the files named by `ca=`, `cert=`, `key=`. */
export async function readTlsFiles(options: EtcdOptions): Promise<TlsFiles> {
  const files: TlsFiles = {};
  if (options.caFile !== undefined)
    files.rootCertificate = await readPem("CA certificate (ca=)", options.caFile);
  if (options.certFile !== undefined)
    files.certChain = await readPem("client certificate (cert=)", options.certFile);
  if (options.keyFile !== undefined) files.privateKey = await readPem("client key (key=)", options.keyFile);
  return files;
}
