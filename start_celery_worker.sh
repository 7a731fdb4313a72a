#!/usr/bin/env bash
# Start a Celery worker: prefork, 4 slots by default. Extra arguments pass through to celery,
# e.g. ./start_celery_worker.sh --concurrency=8 -n worker2@%h
# Works from any directory; uses the project's .venv when there is one.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
CELERY=.venv/bin/celery
[ -x "$CELERY" ] || CELERY=celery
exec "$CELERY" -A app.celery_app worker \
  --loglevel="${LOG_LEVEL:-info}" \
  --concurrency="${CELERY_CONCURRENCY:-4}" \
  --pool="${CELERY_POOL:-prefork}" \
  "$@"
