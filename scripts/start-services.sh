#!/usr/bin/env bash
# Start the local PostgreSQL and Redis the test suite uses, if they are installed and stopped
# (Redis is installed with apt-get when it is missing). The system test runs the Celery topology
# of docker-compose.yml on them; production runs both from docker-compose.yml instead.
set -euo pipefail
HOST=127.0.0.1 PORT=5432 REDIS_PORT=6379

start_postgres() {
  if pg_isready -h "$HOST" -p "$PORT" -q 2>/dev/null; then
    echo "PostgreSQL: running on $HOST:$PORT"
    return 0
  fi
  if ! command -v pg_ctlcluster >/dev/null || [ ! -d /etc/postgresql ]; then
    echo "PostgreSQL: not installed here; set BIZENV_TEST_PG_URL to a reachable server" >&2
    return 1
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -1)
  echo "PostgreSQL: starting cluster $version/main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do
    pg_isready -h "$HOST" -p "$PORT" -q && { echo "PostgreSQL: running on $HOST:$PORT"; return 0; }
    sleep 1
  done
  echo "PostgreSQL: did not come up on $HOST:$PORT within 30 s" >&2
  return 1
}

redis_up() {
  [ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
}

start_redis() {
  if command -v redis-cli >/dev/null && redis_up; then
    echo "Redis: running on $HOST:$REDIS_PORT"
    return 0
  fi
  if ! command -v redis-server >/dev/null; then
    echo "Redis: not installed; installing redis-server with apt-get"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }; then
      echo "Redis: could not install redis-server; set BIZENV_TEST_REDIS_URL to a reachable server" >&2
      return 1
    fi
  fi
  mkdir -p /var/lib/redis /var/log/redis
  echo "Redis: starting on $HOST:$REDIS_PORT"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do
    redis_up && { echo "Redis: running on $HOST:$REDIS_PORT"; return 0; }
    sleep 1
  done
  echo "Redis: did not answer PING on $HOST:$REDIS_PORT within 30 s (see /var/log/redis/ci.log)" >&2
  return 1
}

status=0
start_postgres || status=1
start_redis || status=1
exit "$status"
