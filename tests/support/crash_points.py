"""A worker that dies at a named point: `start_worker(app="tests.support.crash_points",
CRASH_AT="after-batches-create")` runs the real Celery app with one function wrapped so that
the whole worker (main process and pool children, its process group) is SIGKILLed right there,
as a power cut or an OOM kill would end it: no `finally`, no commit, no message acked.

Points:
- `after-batches-create`: the provider's `batches.create` answered (the provider batch exists
  and will be paid for), before the lane commits its id (app.batches.provider_lane.lane).
- `after-wordpress-create`: WordPress created the post and answered, before the publication
  records its id (app.publishing.remote.send).

The wrapper is installed when the worker imports this module, before its pool forks, so every
child has it. Test code only: the application has no hook for it.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from app.celery_app import app, debug_task
from app.llm import batch_lane
from app.publishing.wordpress import WordPress

__all__ = ["app", "debug_task"]

POINT = os.environ.get("CRASH_AT", "")


def _die() -> None:
    os.killpg(os.getpgid(0), signal.SIGKILL)


if POINT == "after-batches-create":
    _create = batch_lane.create

    def _create_then_die(*args: Any, **kwargs: Any) -> Any:
        _create(*args, **kwargs)
        _die()

    batch_lane.create = _create_then_die
elif POINT == "after-wordpress-create":
    _create_post = WordPress.create_post

    def _create_post_then_die(self: WordPress, fields: dict[str, Any]) -> Any:
        _create_post(self, fields)
        _die()

    WordPress.create_post = _create_post_then_die  # type: ignore[method-assign]
elif POINT:
    raise ValueError(f"unknown CRASH_AT {POINT!r}")
