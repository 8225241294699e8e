import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, hostname, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { DEBIAN_PYTHON, REPO_DIR } from "./paths.js";

function tryRead(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** The machine the run happened on. */
export function machineInfo(): Record<string, unknown> {
  const list = cpus();
  return {
    host: hostname(),
    cpuModel: list[0]?.model ?? "unknown",
    cpus: list.length,
    memoryBytes: totalmem(),
    kernel: release(),
    os: `Debian ${tryRead("/etc/debian_version") ?? "?"}`,
    loadAverageAtStart: loadavg(),
  };
}

function packageVersion(dir: string): string {
  try {
    return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

function debianVersions(packages: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pkg of packages) {
    try {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
      out[pkg] = execFileSync("dpkg-query", ["-W", "-f", "${Version}", pkg], {
        encoding: "utf8",
        stdio: "pipe",
      });
    } catch {
      out[pkg] = "not installed";
    }
  }
  return out;
}

/** Versions of everything measured: Node, rollcall's packages, the Debian packages of servers and peers. */
export function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version };
  for (const name of ["core", "memory", "zookeeper", "etcd", "redis", "sql", "servers"]) {
    out[`@rollcall/${name}`] = packageVersion(join(REPO_DIR, "packages", name));
  }
  try {
    out.python = execFileSync(DEBIAN_PYTHON, ["--version"], { encoding: "utf8" }).trim();
  } catch {
    out.python = "not found";
  }
  Object.assign(
    out,
    debianVersions([
      "python3-tooz",
      "python3-kazoo",
      "python3-redis",
      "python3-etcd3",
      "zookeeper",
      "etcd-server",
      "redis-server",
      "postgresql",
      "mariadb-server",
    ]),
  );
  return out;
}
