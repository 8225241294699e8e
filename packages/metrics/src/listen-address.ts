import { isIP } from "node:net";
import { RollcallError } from "@rollcall/core";

/** Where an HTTP server listens: a host (name or IP address) and a TCP port (0: any free port). */
export interface ListenAddress {
  /** A host name, an IPv4 address or an IPv6 address (without brackets). */
  host: string;
  /** 0–65535; 0 lets the system choose a free port. */
  port: number;
}

/** The host a bare port listens on: loopback only, so nothing is exposed unless asked for. */
export const DEFAULT_LISTEN_HOST = "127.0.0.1";

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Parses `host:port`, `[ipv6]:port`, `:port` or a bare `port` (which listen on {@link DEFAULT_LISTEN_HOST}).
 * Anything else is `INVALID_ARGUMENT` with a message saying what is allowed.
 */
export function parseListenAddress(address: string): ListenAddress {
  if (typeof address !== "string") {
    throw new RollcallError("INVALID_ARGUMENT", "a listen address must be a string (host:port or a port)");
  }
  const text = address.trim();
  const bad = (why: string) =>
    new RollcallError(
      "INVALID_ARGUMENT",
      // The text is echoed only when it cannot be a URL with credentials.
      `listen address ${text.length <= 100 && !text.includes("@") ? JSON.stringify(text) : "(as given)"} ${why}: use host:port, [ipv6]:port or a port (0–65535), e.g. 127.0.0.1:9464`,
    );
  if (text === "") throw bad("is empty");
  let host = DEFAULT_LISTEN_HOST;
  let portText = text;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1 || text[close + 1] !== ":") throw bad("is not [ipv6]:port");
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) throw bad("has no valid IPv6 address in brackets");
  } else if (text.includes(":")) {
    const colon = text.lastIndexOf(":");
    if (text.indexOf(":") !== colon) throw bad("has an IPv6 address without brackets");
    portText = text.slice(colon + 1);
    if (colon > 0) {
      host = text.slice(0, colon);
      if (isIP(host) !== 4 && !HOST_NAME.test(host)) throw bad("has no valid host");
    }
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw bad("has no valid port");
  return { host, port: Number(portText) };
}

/** `http://host:port` for an address (IPv6 hosts in brackets). */
export function httpUrl(address: ListenAddress): string {
  const host = isIP(address.host) === 6 ? `[${address.host}]` : address.host;
  return `http://${host}:${address.port}`;
}
