import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";

/** PEM files of a throwaway CA, a server certificate for 127.0.0.1 and a client certificate. */
export interface TestPki {
  dir: string;
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  remove(): void;
}

/** Makes a CA and two certificates with the `openssl` command (P-256 keys, valid one day). */
export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "rollcall-etcd-tls-"));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=rollcall test CA",
  );
  writeFileSync(
    file("server.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  writeFileSync(file("client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const name of ["server", "client"]) {
    openssl("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    openssl(
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
      "1",
      "-extfile",
      `${name}.ext`,
    );
  }
  return {
    dir,
    caFile: file("ca.pem"),
    clientCertFile: file("client.pem"),
    clientKeyFile: file("client.key"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A TLS front for a plain etcd endpoint: terminates TLS (HTTP/2 by ALPN, client certificates
 * required and checked against the CA) and relays the bytes to etcd, as a TLS-enabled etcd would
 * see them. `@rollcall/servers` starts etcd without TLS.
 */
export class TlsRelay {
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, pki: TestPki): Promise<TlsRelay> {
    let relay: TlsRelay | undefined;
    const server = createServer(
      {
        key: readFileSync(join(pki.dir, "server.key")),
        cert: readFileSync(join(pki.dir, "server.pem")),
        ca: readFileSync(pki.caFile),
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ["h2"],
      },
      (client) => {
        const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
        relay?.sockets.add(client);
        relay?.sockets.add(upstream);
        client.pipe(upstream);
        upstream.pipe(client);
        const close = () => {
          client.destroy();
          upstream.destroy();
          relay?.sockets.delete(client);
          relay?.sockets.delete(upstream);
        };
        client.on("error", close).on("close", close);
        upstream.on("error", close).on("close", close);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("relay has no port");
    relay = new TlsRelay(server, address.port);
    return relay;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
