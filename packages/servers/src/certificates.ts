import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The PEM files of a throwaway PKI. */
export interface CertificateFiles {
  /** The CA certificate: trust it to verify the server (and the server uses it to verify clients). */
  readonly caFile: string;
  /**
   * The server certificate, for every address in `hosts` (SAN IP entries) and `DNS:localhost`; its extended
   * key usage is serverAuth and clientAuth (etcd's gateway presents it to its own gRPC server).
   */
  readonly serverCertFile: string;
  /** The server certificate's private key (unencrypted). */
  readonly serverKeyFile: string;
  /** A client certificate with CN `rollcall-client` (extended key usage clientAuth). */
  readonly clientCertFile: string;
  /** The client certificate's private key (unencrypted). */
  readonly clientKeyFile: string;
}

/** The result of {@link createCertificates}: the files, where they are, and how to remove them. */
export interface Certificates extends CertificateFiles {
  /** The directory holding the files. */
  readonly dir: string;
  /** Delete the files (and the directory when {@link createCertificates} made it). Idempotent. */
  remove(): void;
}

/** Options of {@link createCertificates}. */
export interface CertificateOptions {
  /**
   * Directory to write the files in (created if missing). Default: a new temporary directory, removed by
   * {@link Certificates.remove}.
   */
  dir?: string;
  /** IP addresses (SAN `IP:`) and DNS names (SAN `DNS:`) the server certificate is valid for; `DNS:localhost` is always added. */
  hosts: readonly string[];
  /** Validity in days. Default 7. */
  days?: number;
}

/** The client certificate's common name. */
export const CLIENT_COMMON_NAME = "rollcall-client";

const FILES = ["ca.key", "ca.pem", "ca.srl", "server.key", "server.csr", "server.pem", "server.ext"];
const CLIENT_FILES = ["client.key", "client.csr", "client.pem", "client.ext"];

function openssl(dir: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("openssl", [...args], { cwd: dir, timeout: 30_000 }, (error, _stdout, stderr) => {
      if (error === null) resolve();
      else if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        reject(
          new Error("createCertificates: the `openssl` command is not installed (Debian package openssl)"),
        );
      } else reject(new Error(`openssl ${args[0]}: ${String(stderr).trim() || error.message}`));
    });
  });
}

/**
 * Make a throwaway PKI with the `openssl` command: a CA, a server certificate for `hosts` and a client
 * certificate (CN `rollcall-client`), all with P-256 keys, signed by the CA. Keys are written with mode
 * 0600, certificates 0644.
 *
 * @throws Error when `openssl` is missing or fails.
 */
export async function createCertificates(options: CertificateOptions): Promise<Certificates> {
  const made = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "rollcall-tls-"));
  mkdirSync(dir, { recursive: true });
  const file = (name: string): string => join(dir, name);
  const days = String(options.days ?? 7);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const names = [...new Set(options.hosts)].filter((host) => host !== "localhost");
  const san = [...names.map((host) => (isIP(host) ? `IP:${host}` : `DNS:${host}`)), "DNS:localhost"];
  const remove = (): void => {
    if (made) rmSync(dir, { recursive: true, force: true });
    else for (const name of [...FILES, ...CLIENT_FILES]) rmSync(file(name), { force: true });
  };
  try {
    const subject = `/CN=rollcall test CA ${process.pid}-${Date.now()}`;
    await openssl(dir, [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      days,
      "-subj",
      subject,
    ]);
    writeFileSync(
      file("server.ext"),
      `subjectAltName=${san.join(",")}\nextendedKeyUsage=serverAuth,clientAuth\n`,
    );
    writeFileSync(file("client.ext"), "extendedKeyUsage=clientAuth\n");
    for (const [name, cn] of [
      ["server", names[0] ?? "localhost"],
      ["client", CLIENT_COMMON_NAME],
    ] as const) {
      await openssl(dir, [
        "req",
        ...ec,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.csr`,
        "-subj",
        `/CN=${cn}`,
      ]);
      await openssl(dir, [
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        `${name}.pem`,
        "-days",
        days,
        "-extfile",
        `${name}.ext`,
      ]);
    }
    for (const name of ["ca.key", "server.key", "client.key"]) chmodSync(file(name), 0o600);
    for (const name of ["ca.pem", "server.pem", "client.pem"]) chmodSync(file(name), 0o644);
  } catch (error) {
    remove();
    throw error;
  }
  return {
    dir,
    caFile: file("ca.pem"),
    serverCertFile: file("server.pem"),
    serverKeyFile: file("server.key"),
    clientCertFile: file("client.pem"),
    clientKeyFile: file("client.key"),
    remove,
  };
}

/** Just the five paths of a {@link CertificateFiles} (without `dir` and `remove`), for a server's `certificates`. */
export function certificateFiles(files: CertificateFiles): CertificateFiles {
  const { caFile, serverCertFile, serverKeyFile, clientCertFile, clientKeyFile } = files;
  return { caFile, serverCertFile, serverKeyFile, clientCertFile, clientKeyFile };
}

/**
 * Make a server's PKI in `dir` (inside the server's directory, removed with it) for `hosts` and 127.0.0.1.
 *
 * @returns the five paths.
 */
export async function serverCertificates(dir: string, hosts: readonly string[]): Promise<CertificateFiles> {
  return certificateFiles(await createCertificates({ dir, hosts: [...new Set([...hosts, "127.0.0.1"])] }));
}
