import { randomBytes } from "node:crypto";
import type { Server } from "./types.js";

/** A URL the server must refuse, and why (`"a wrong password"`, `"no client certificate"`…). */
export interface RefusedUrl {
  /** What is wrong with it, for failure messages. */
  why: string;
  /** The URL, credentials in its user info and parameters as a rollcall backend takes it. */
  url: string;
}

/**
 * A server that requires credentials (and TLS where the kind has it), described the same way for every
 * kind by `secureRedis()`, `secureEtcd()`, `secureZooKeeper()`, `securePostgres()` and `secureMariaDB()`:
 * a rollcall URL that connects with credentials, every secret the setup holds, and URLs with wrong
 * credentials that the server refuses. It is what the conformance kit's security suite takes.
 */
export interface SecureServer<S extends Server = Server> extends AsyncDisposable {
  /** The running server. */
  readonly server: S;
  /** A rollcall URL that connects with credentials (and verifies the server, where it speaks TLS). */
  readonly url: string;
  /**
   * Every secret of the setup, none shorter than 6 characters: the passwords of every user made (also
   * the admin ones the URL does not use), and private-key contents the URL points at.
   */
  readonly secrets: readonly string[];
  /** URLs with wrong or missing credentials; the server refuses each (see each kind for how). */
  readonly refused: readonly RefusedUrl[];
  /** Closes the server ({@link Server.close}). */
  close(): Promise<void>;
}

/**
 * The usual URLs a server with password authentication must refuse: a wrong password, an unknown user and
 * no credentials at all.
 *
 * @param url - builds the URL from user info (`user:password`, percent-encoded, or `""` for none)
 * @param user - the user the credentialed URL names
 * @param password - that user's password
 */
export function credentialRefusals(
  url: (userinfo: string) => string,
  user: string,
  password: string,
): RefusedUrl[] {
  const userinfo = (name: string, secret: string) => `${name}:${encodeURIComponent(secret)}`;
  return [
    { why: "a wrong password", url: url(userinfo(user, `wrong-${password}`)) },
    { why: "an unknown user", url: url(userinfo("nobody", password)) },
    { why: "no credentials", url: url("") },
  ];
}

/**
 * A fresh password that needs percent-encoding in a URL's user info (`/`, `@`, `%`, `:`), so that a URL
 * built without encoding it, or a redaction that misses its encoded form, shows.
 */
export function awkwardPassword(prefix: string): string {
  return `${prefix}/${randomBytes(8).toString("hex")}@%:`;
}

/** A {@link SecureServer} of `server`. */
export function secureServer<S extends Server>(
  server: S,
  url: string,
  secrets: readonly string[],
  refused: readonly RefusedUrl[],
): SecureServer<S> {
  return {
    server,
    url,
    secrets,
    refused,
    close: () => server.close(),
    [Symbol.asyncDispose]: () => server.close(),
  };
}

/** `host:port` of a single-node server's node, as a URL names it. */
export function nodeAddress(server: Server): string {
  const node = server.nodes[0];
  if (node === undefined) throw new Error(`${server.kind}: the server has no node`);
  return `${node.host}:${node.port}`;
}
