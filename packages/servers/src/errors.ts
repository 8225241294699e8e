import type { ServerKind } from "./types.js";

/**
 * Thrown by a `start…` function when a program the server needs is not installed.
 * The message names the Debian package to install.
 */
export class MissingBinaryError extends Error {
  /** The kind of server that could not be started. */
  readonly kind: ServerKind;
  /** The missing program or file. */
  readonly binary: string;
  /** The Debian packages that provide it. */
  readonly packages: readonly string[];
  /** A command line that installs them. */
  readonly installCommand: string;

  /**
   * @param kind - the server kind.
   * @param binary - the missing program or file.
   * @param packages - the Debian packages that provide it.
   * @param searched - where it was looked for.
   */
  constructor(kind: ServerKind, binary: string, packages: readonly string[], searched: readonly string[]) {
    const installCommand = `apt-get install -y --no-install-recommends ${packages.join(" ")}`;
    super(
      `${kind}: cannot find ${binary} (looked in ${searched.join(", ")}). ` +
        `Install the Debian package: \`${installCommand}\` (as root, after apt-get update), ` +
        `or run \`rollcall-servers install ${kind}\`.`,
    );
    this.name = "MissingBinaryError";
    this.kind = kind;
    this.binary = binary;
    this.packages = packages;
    this.installCommand = installCommand;
  }
}

/**
 * Thrown when a server process fails to start or to become ready in time. The message ends with the last
 * lines of the server's log, which are also in {@link ServerStartError.logTail}.
 */
export class ServerStartError extends Error {
  /** The node (or setup step) that failed, such as `etcd-2` or `postgres-1 initdb`. */
  readonly node: string;
  /** The last lines of its log. */
  readonly logTail: string;

  /**
   * @param node - the failing node or step.
   * @param reason - what went wrong.
   * @param logFile - the log file the tail comes from.
   * @param logTail - the last lines of that log.
   */
  constructor(node: string, reason: string, logFile: string, logTail: string) {
    super(`${node}: ${reason}\n--- last lines of ${logFile} ---\n${logTail || "(empty log)"}`);
    this.name = "ServerStartError";
    this.node = node;
    this.logTail = logTail;
  }
}

/**
 * Thrown by {@link createNetworkLab} (and by a lab's hosts) when a network lab cannot be created or changed
 * here: not root, no `ip` command, network namespaces unsupported, or an `ip` command failing.
 */
export class NetworkLabError extends Error {
  /** Why, without the "network lab:" prefix. */
  readonly reason: string;

  /** @param reason - why the lab cannot be created or changed. */
  constructor(reason: string) {
    super(`network lab: ${reason}`);
    this.name = "NetworkLabError";
    this.reason = reason;
  }
}
