import { hostname } from "node:os";
import { type Coordinator, connect, redactUrl } from "@rollcall/core";

/** The embedded default: membership across processes on this host with nothing to install. */
export const DEFAULT_URL = "sqlite://./rollcall.db";

/** The URL from `--url`, else `ROLLCALL_URL`, else the embedded default. */
export function resolveUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.ROLLCALL_URL ?? DEFAULT_URL;
}

/** A member id for commands that join: `--id`, else `<hostname>-<pid>`. */
export function defaultMemberId(): string {
  return `${
    hostname()
      .replace(/[^A-Za-z0-9._:@-]/g, "-")
      .replace(/^[^A-Za-z0-9]+/, "") || "host"
  }-${process.pid}`;
}

/** Connects; the URL shown anywhere is redacted. */
export async function open(url: string, memberId: string): Promise<Coordinator> {
  return connect(url, { memberId });
}

export { redactUrl };
