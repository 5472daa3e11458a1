#!/usr/bin/env bash
# Start the local PostgreSQL the test suite uses, if it is installed and stopped.
# (Production runs PostgreSQL and Redis from docker-compose.yml instead.)
set -euo pipefail
HOST=127.0.0.1 PORT=5432

if pg_isready -h "$HOST" -p "$PORT" -q 2>/dev/null; then
  echo "PostgreSQL: running on $HOST:$PORT"
  exit 0
fi
if ! command -v pg_ctlcluster >/dev/null || [ ! -d /etc/postgresql ]; then
  echo "PostgreSQL: not installed here; set BIZENV_TEST_PG_URL to a reachable server" >&2
  exit 1
fi
version=$(ls /etc/postgresql | sort -V | tail -1)
echo "PostgreSQL: starting cluster $version/main"
pg_ctlcluster --skip-systemctl-redirect "$version" main start
for _ in $(seq 1 30); do
  pg_isready -h "$HOST" -p "$PORT" -q && { echo "PostgreSQL: running on $HOST:$PORT"; exit 0; }
  sleep 1
done
echo "PostgreSQL: did not come up on $HOST:$PORT within 30 s" >&2
exit 1
