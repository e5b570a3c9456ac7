#!/usr/bin/env bash
# Idempotent setup for a fresh clone (and the first step of `npm run dev`):
#   1. system packages: PostgreSQL server (initdb, pg_ctl, pg_basebackup, pg_rewind), etcd,
#      redis-server, patroni (Patroni mode), chromium + fonts (browser tests). Installed with apt-get when root on
#      Debian/Ubuntu; otherwise this prints the one command to run.
#   2. npm dependencies at the repo root: `npm install` (the locked versions), skipped
#      when node_modules is already up to date with the lockfile (or FIRSTCLICK_SETUP_NPM=0).
# Quick when there is nothing to do, so `npm run dev` can run it every time.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }

pg_ok() {
  local dir
  for dir in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/pg_basebackup" ] \
      && [ -x "$dir/pg_rewind" ] && [ -x "$dir/postgres" ] && return 0
  done
  return 1
}

fonts_ok() {
  # dpkg-query is the cheap check on Debian; elsewhere trust fc-list.
  if have dpkg-query; then
    dpkg-query -W -f='${Status}' fonts-liberation 2>/dev/null | grep -q "ok installed"
  else
    have fc-list && [ -n "$(fc-list 2>/dev/null | head -n 1)" ]
  fi
}

required=() # without these the local cluster cannot start
optional=() # redis strategy, browser tests
pg_ok || required+=(postgresql)
have etcd || required+=(etcd-server)
have etcdctl || required+=(etcd-client)
have redis-server || optional+=(redis-server)
have patroni || optional+=(patroni) # Patroni mode (up --ha patroni) and its tests
have chromium || have chromium-browser || optional+=(chromium)
fonts_ok || optional+=(fonts-liberation fonts-noto-color-emoji)

missing=("${required[@]}" "${optional[@]}")
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && have apt-get; then
    export DEBIAN_FRONTEND=noninteractive
    apt_opts=(-o DPkg::Lock::Timeout=300 -qq)
    echo "setup: installing ${missing[*]}"
    apt-get "${apt_opts[@]}" update
    packages=()
    for p in "${missing[@]}"; do
      if [ "$p" = postgresql ]; then
        # The project is verified on PostgreSQL 15; take the distribution's default otherwise.
        if apt-cache show postgresql-15 >/dev/null 2>&1; then p=postgresql-15; fi
      fi
      packages+=("$p")
    done
    apt-get "${apt_opts[@]}" install -y "${packages[@]}"
    # Debian starts services on install where it can; the project runs its own instances.
    pg_ok || { echo "setup: PostgreSQL server tools still missing after apt-get" >&2; exit 1; }
  else
    echo "setup: missing system packages: ${missing[*]}"
    echo "setup: install them as root, e.g.: sudo apt-get install -y ${missing[*]/postgresql/postgresql-15}"
    if [ "${#required[@]}" -gt 0 ]; then
      echo "setup: the local cluster needs ${required[*]}; stopping here" >&2
      exit 1
    fi
    echo "setup: continuing without ${optional[*]} (only some strategies/tests need them)"
  fi
fi

# npm dependencies. npm records the installed tree in node_modules/.package-lock.json: when it
# is newer than the lockfile and every package.json, the install is current.
stamp=node_modules/.package-lock.json
needs_install=1
if [ -f "$stamp" ] && [ -f package-lock.json ]; then
  needs_install=0
  for f in package-lock.json package.json */package.json */*/package.json; do
    [ -f "$f" ] || continue
    case "$f" in node_modules/*) continue ;; esac
    if [ "$f" -nt "$stamp" ]; then needs_install=1; break; fi
  done
fi
if [ "${FIRSTCLICK_SETUP_NPM:-1}" = 0 ]; then
  echo "setup: FIRSTCLICK_SETUP_NPM=0, npm install skipped"
elif [ "$needs_install" = 1 ]; then
  # Not `npm ci`: the registry reachable here serves only some of the optional platform packages
  # (biome's, workerd's), so the lockfile cannot list the others and `npm ci` refuses it as out of
  # sync. `npm install` still installs the locked versions.
  echo "setup: npm install"
  npm install --no-audit --no-fund
else
  echo "setup: npm dependencies up to date"
fi
echo "setup: done"
