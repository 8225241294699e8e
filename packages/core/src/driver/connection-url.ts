/** One host of a connection URL. */
export interface HostPort {
  host: string;
  /** The port, when the URL gives one. */
  port?: number;
}

/**
 * A parsed connection URL, as handed to a driver. Multi-host authorities
 * (`zookeeper://h1:2181,h2:2181/ns`) are supported. `password` is held here and nowhere else;
 * {@link ConnectionUrl.redacted} is the form to print.
 */
export interface ConnectionUrl {
  /** Scheme without the colon, e.g. `"zookeeper"`. */
  scheme: string;
  /** Hosts in the order given; empty for `memory://` or `sqlite:///path`. */
  hosts: HostPort[];
  /** Decoded user name, if any. */
  username?: string;
  /** Decoded password, if any. Never log it. */
  password?: string;
  /** The path, decoded, with its leading slash (`"/servicegroups"`), or `""`. */
  path: string;
  /** The backend's own query parameters (common keys such as `sessionTimeout` removed). */
  params: URLSearchParams;
  /** The URL with any password replaced by `***`: safe for errors and logs. */
  redacted: string;
}
