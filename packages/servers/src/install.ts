import { spawnSync } from "node:child_process";
import { checkBinaries, DEBIAN_PACKAGES } from "./binaries.js";
import type { ServerKind } from "./types.js";
import { isRoot } from "./users.js";

/** What `rollcall-servers install` would do. */
export interface InstallPlan {
  /** Kinds whose programs are missing. */
  missing: ServerKind[];
  /** Debian packages to install for them. */
  packages: string[];
  /** The commands, each as an argument vector. */
  commands: string[][];
}

/**
 * Which Debian packages are missing for the given kinds, and the apt-get commands that install them.
 */
export function installPlan(kinds: readonly ServerKind[]): InstallPlan {
  const missing = kinds.filter((kind) => checkBinaries(kind) !== undefined);
  const packages = [...new Set(missing.flatMap((kind) => DEBIAN_PACKAGES[kind]))];
  const commands =
    packages.length === 0
      ? []
      : [
          ["apt-get", "update"],
          ["apt-get", "install", "-y", "--no-install-recommends", ...packages],
        ];
  return { missing, packages, commands };
}

/**
 * Install the missing Debian packages for `kinds` with apt-get (root only: `apt-get update` first).
 * When not root, or when `printOnly`, print the commands instead.
 *
 * @param log - where messages go (default: stderr).
 * @returns a process exit status: 0 when everything is installed (or only printing was asked), 1 when
 *   packages are missing and could not be installed.
 */
export function installMissing(
  kinds: readonly ServerKind[],
  printOnly = false,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): number {
  const plan = installPlan(kinds);
  if (plan.packages.length === 0) {
    log(`rollcall-servers: already installed: ${kinds.join(", ")}`);
    return 0;
  }
  const shown = plan.commands.map((argv) => argv.join(" "));
  if (printOnly || !isRoot()) {
    log(`rollcall-servers: missing ${plan.missing.join(", ")}; install with (as root):`);
    for (const line of shown) log(`  ${line}`);
    return printOnly ? 0 : 1;
  }
  for (const argv of plan.commands) {
    const [command = "apt-get", ...args] = argv;
    log(`rollcall-servers: ${argv.join(" ")}`);
    const result = spawnSync(command, args, {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (result.status !== 0) {
      log(
        `rollcall-servers: ${argv.join(" ")} failed (${result.error?.message ?? `status ${result.status}`})`,
      );
      return 1;
    }
  }
  const still = installPlan(kinds).missing;
  if (still.length > 0) {
    log(`rollcall-servers: still missing after install: ${still.join(", ")}`);
    return 1;
  }
  return 0;
}
