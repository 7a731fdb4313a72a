#!/usr/bin/env bash
# Start celery beat on RedBeat (schedule and lock in Redis: run one or several, one acts).
# Extra arguments pass through to celery. Works from any directory.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
CELERY=.venv/bin/celery
[ -x "$CELERY" ] || CELERY=celery
exec "$CELERY" -A app.celery_app beat \
  --loglevel="${LOG_LEVEL:-info}" \
  --scheduler=app.worker.beat:RedBeatScheduler \
  "$@"
