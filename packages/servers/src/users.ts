import { chownSync, readFileSync } from "node:fs";

/** A system account. */
export interface SystemUser {
  /** Login name. */
  name: string;
  /** User id. */
  uid: number;
  /** Primary group id. */
  gid: number;
}

/**
 * Look up a user in /etc/passwd.
 *
 * @returns the user, or undefined if there is none.
 */
export function findUser(name: string): SystemUser | undefined {
  let passwd: string;
  try {
    passwd = readFileSync("/etc/passwd", "utf8");
  } catch {
    return undefined;
  }
  for (const line of passwd.split("\n")) {
    const [login, , uid, gid] = line.split(":");
    if (login === name && uid !== undefined && gid !== undefined) {
      return { name, uid: Number(uid), gid: Number(gid) };
    }
  }
  return undefined;
}

/** Whether this process runs as root. */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The account a database server must run as. Servers that refuse to run as root (PostgreSQL, MariaDB) run as
 * their Debian system user (`postgres`, `mysql`) when the caller is root, and as the caller otherwise.
 *
 * @returns the user to switch to, or undefined to run as the caller.
 * @throws when the caller is root and the user does not exist.
 */
export function serviceUser(name: string, debianPackage: string): SystemUser | undefined {
  if (!isRoot()) return undefined;
  const user = findUser(name);
  if (user === undefined) {
    throw new Error(`user ${name} does not exist; it is created by the Debian package ${debianPackage}`);
  }
  return user;
}

/** chown paths to a user (no-op for undefined). */
export function chownTo(user: SystemUser | undefined, ...paths: string[]): void {
  if (user === undefined) return;
  for (const path of paths) chownSync(path, user.uid, user.gid);
}
