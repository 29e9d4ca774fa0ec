#!/usr/bin/env bash
# Start a throw-away PostgreSQL on localhost for the store's postgres tests.
# Prints `export CTI_TEST_POSTGRES_URL=...` on success; prints nothing (tests skip) otherwise.
set -uo pipefail
log() { echo "ci/postgres: $*" >&2; }
if [ "$(id -u)" -ne 0 ]; then log "not root: postgres tests will skip"; exit 0; fi
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null 2>&1
  apt-get install -y -q --no-install-recommends postgresql >/dev/null 2>&1 \
    || { log "apt-get install postgresql failed: postgres tests will skip"; exit 0; }
fi
ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$ver main$"; then
  pg_createcluster "$ver" main >/dev/null 2>&1 || { log "pg_createcluster failed"; exit 0; }
fi
pg_ctlcluster "$ver" main start >/dev/null 2>&1 || true
for _ in $(seq 1 30); do
  su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.5
done
port=$(pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $3}')
su postgres -c "psql -qtAc \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='cti') THEN CREATE ROLE cti LOGIN PASSWORD 'cti'; END IF; END\\\$\\\$;\"" >/dev/null 2>&1 \
  || { log "cannot create role: postgres tests will skip"; exit 0; }
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='cti_test'\"" | grep -q 1 \
  || su postgres -c "createdb -O cti cti_test" >/dev/null 2>&1
echo "export CTI_TEST_POSTGRES_URL=postgresql://cti:cti@127.0.0.1:${port:-5432}/cti_test"
