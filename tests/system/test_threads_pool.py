"""The recommended cheap slots: one `--pool threads` process runs many LLM streams at once.

Celery enforces no time limit on the threads pool, so the item enforces its own: the deadline
checked between streamed chunks, and the SDK timeout (kept below the soft limit) for a call that
sends nothing at all.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.api_helpers import submit, wait_final
from tests.support.fake_openai import Behavior


def _children(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()


def test_threads_pool_overlaps_eight_calls_and_enforces_the_soft_limit(
    api, start_worker, fake_llm, llm_env
):
    fake_llm.default = Behavior(latency=1.5, chunks=3)
    fake_llm.add_rule("Slow drip", [Behavior(latency=40, chunks=40)])  # a chunk a second
    fake_llm.add_rule("Silent", [Behavior("hang", hang_seconds=60)])  # nothing, ever
    worker = start_worker(
        "threads", pool="threads", concurrency=8, CELERY_TASK_SOFT_TIME_LIMIT="4",
        CELERY_TASK_TIME_LIMIT="5", LLM_TIMEOUT="30", LLM_MAX_RETRIES="0", **llm_env,
    )
    titles = ["Slow drip", "Silent"] + [f"Quick title {i}" for i in range(8)]
    batch = submit(api, titles)
    status = wait_final(api, batch["task_id"], timeout=90)

    items = {i["title"]: i for i in status["items"]}
    assert status["completed"] == 8 and status["failed"] == 2
    # The stream that kept sending was stopped at the 4 s soft limit, with the reason.
    assert items["Slow drip"]["status"] == "failed"
    assert "time limit" in items["Slow drip"]["error"]
    # The call that never answered ended on the SDK timeout (0.8 x soft limit), not after 60 s.
    assert items["Silent"]["status"] == "failed" and "timeout" in items["Silent"]["error"].lower()
    records = {r.match: r for r in fake_llm.requests if r.match}
    for title in ("Slow drip", "Silent"):
        record = records[title]
        assert record.aborted and record.ended is not None
        assert record.ended - record.started < 5, f"{title} ran past the hard limit"

    # Eight streams at once, from one process with no pool children.
    assert fake_llm.max_in_flight == 8
    assert worker.proc is not None and _children(worker.proc.pid) == []
