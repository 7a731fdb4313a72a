#!/usr/bin/env bash
# Start a Celery worker: prefork, 4 slots by default (CELERY_POOL, CELERY_CONCURRENCY from the
# environment or .env). Extra arguments pass through to celery and win, e.g.
#   ./start_celery_worker.sh --concurrency=8 -n worker2@%h
# Works from any directory; uses the project's .venv when there is one.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
# The one Settings class decides (environment first, then .env).
# Queues from app/core/names.py: article work, maintenance and webhooks (see README, Reliability).
read -r POOL CONCURRENCY LEVEL QUEUES < <("$PY" -c 'from app.config import get_settings as g
from app.core.names import WORKER_QUEUES as q; s = g()
print(s.celery_pool, s.celery_concurrency, s.log_level.lower(), ",".join(q))')
exec "$PY" -m celery -A app.celery_app worker \
  --loglevel="$LEVEL" --concurrency="$CONCURRENCY" --pool="$POOL" --queues="$QUEUES" "$@"
