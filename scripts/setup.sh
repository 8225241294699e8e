#!/usr/bin/env bash
# Sets up a fresh Debian machine with Node 20 for rollcall: the Debian packages of the real servers
# the tests start, pnpm, the workspace's dependencies (from the committed lockfile), and a build.
# Idempotent: what is already there is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(default-jre-headless)
[ -f /usr/share/java/zookeeper.jar ] || need_apt+=(zookeeper)
command -v etcd >/dev/null 2>&1 || need_apt+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need_apt+=(etcd-client)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || need_apt+=(mariadb-server)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# tooz, the peer the benchmarks compare against (run with Debian's /usr/bin/python3)
[ -d /usr/lib/python3/dist-packages/tooz ] || need_apt+=(python3-tooz)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  started=$(date +%s)
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  echo "setup: Debian packages installed in $(( $(date +%s) - started )) s"
fi

want_pnpm=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$want_pnpm" ]; then
  echo "setup: installing pnpm $want_pnpm"
  npm install -g --silent "pnpm@$want_pnpm" >/dev/null 2>&1
fi

export TURBO_TELEMETRY_DISABLED=1
pnpm install --frozen-lockfile --reporter=append-only | tail -3
pnpm build
