#!/usr/bin/env bash
# Run the API (uvicorn app.main:app) in the background with a pid file and a log.
#   ./start_backend_daemon.sh [start|stop|restart|status]   (default: start)
# Files: var/run/api.pid, var/log/api.log. Host/port: API_HOST/API_PORT (127.0.0.1:8000).
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
PIDFILE=var/run/api.pid
LOG=var/log/api.log
# API_HOST / API_PORT as the Settings class reads them (environment first, then .env).
read -r HOST PORT < <("$PY" -c 'from app.config import get_settings as g; s = g()
print(s.api_host, s.api_port)')
mkdir -p var/run var/log

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  if running; then echo "API already running (pid $(cat "$PIDFILE"))"; return 0; fi
  # A weak API_TOKEN (a placeholder, under 24 characters): refused, with the reason
  # (app/core/exposure.py)
  "$PY" -m app.core.exposure || return $?
  "$PY" -m alembic upgrade head >>"$LOG" 2>&1
  nohup "$PY" -m uvicorn app.main:app --host "$HOST" --port "$PORT" --timeout-graceful-shutdown 3 "$@" >>"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 50); do
    if "$PY" - "$HOST" "$PORT" <<'PYEOF' 2>/dev/null; then
import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=0.2).close()
PYEOF
      echo "API started (pid $(cat "$PIDFILE")) on http://$HOST:$PORT, log $LOG"; return 0
    fi
    running || { echo "API failed to start; see $LOG" >&2; tail -n 20 "$LOG" >&2; return 1; }
    sleep 0.2
  done
  echo "API did not answer within 10 s; see $LOG" >&2; return 1
}

stop() {
  if ! running; then echo "API not running"; rm -f "$PIDFILE"; return 0; fi
  kill "$(cat "$PIDFILE")"
  for _ in $(seq 1 50); do running || break; sleep 0.2; done
  running && kill -9 "$(cat "$PIDFILE")"
  rm -f "$PIDFILE"; echo "API stopped"
}

case "${1:-start}" in
  start) shift || true; start "$@" ;;
  stop) stop ;;
  restart) stop; shift || true; start "$@" ;;
  status) if running; then echo "API running (pid $(cat "$PIDFILE"))"; else echo "API not running"; exit 3; fi ;;
  -h|--help|help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) echo "usage: $0 [start|stop|restart|status]" >&2; exit 2 ;;
esac
