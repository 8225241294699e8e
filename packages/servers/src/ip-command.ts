import { execFile } from "node:child_process";
import { existsSync } from "node:fs";

/** Where iproute2's `ip` is looked for, in order; `ip` on the PATH last. */
const IP_CANDIDATES = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"];

/**
 * Absolute path of iproute2's `ip` command, or undefined when it is not installed.
 */
export function ipBinary(): string | undefined {
  return IP_CANDIDATES.find((candidate) => existsSync(candidate));
}

/**
 * Thrown by {@link runIp} when `ip` exits with an error; carries its stderr.
 */
export class IpCommandError extends Error {
  /** What `ip` wrote on stderr. */
  readonly stderr: string;

  /**
   * @param args - the arguments `ip` was run with.
   * @param stderr - what it wrote on stderr.
   */
  constructor(args: readonly string[], stderr: string) {
    super(`ip ${args.join(" ")}: ${stderr.trim() || "failed"}`);
    this.name = "IpCommandError";
    this.stderr = stderr;
  }
}

/**
 * Run `ip` with arguments.
 *
 * @returns its stdout.
 * @throws {@link IpCommandError} when it fails.
 */
export function runIp(ip: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(ip, [...args], { timeout: 10_000, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) reject(new IpCommandError(args, stderr || error.message));
      else resolve(stdout);
    });
  });
}
