import { fileURLToPath } from "node:url";

/** The benchmarks package directory (this file runs from dist/src/). */
export const PACKAGE_DIR = fileURLToPath(new URL("../../", import.meta.url));
/** The repository root. */
export const REPO_DIR = fileURLToPath(new URL("../../../", import.meta.url));
/** The rollcall agent's entry. */
export const AGENT_MAIN = fileURLToPath(new URL("./agents/agent-main.js", import.meta.url));
/** The Nova peer agent (compiled from peers/nova-agent.ts). */
export const NOVA_AGENT = fileURLToPath(new URL("../peers/nova-agent.js", import.meta.url));
/** The etcd3 npm client peer agent (compiled from peers/etcd3-agent.ts). */
export const ETCD3_AGENT = fileURLToPath(new URL("../peers/etcd3-agent.js", import.meta.url));
/** The tooz peer agent (Python, run from the source tree). */
export const TOOZ_AGENT = fileURLToPath(new URL("../../peers/tooz-agent.py", import.meta.url));
/** Debian's Python, which sees python3-tooz (the python3 first on PATH may not). */
export const DEBIAN_PYTHON = "/usr/bin/python3";
/** The rollcall CLI (`rollcall serve`), as built by `pnpm --filter @rollcall/cli build`. */
export const ROLLCALL_CLI = fileURLToPath(new URL("../../../packages/cli/dist/bin.js", import.meta.url));
