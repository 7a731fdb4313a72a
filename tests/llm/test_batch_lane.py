"""The Batch API lane through the openai SDK against the fake server's /v1/files and
/v1/batches: lines, splitting, completion with failing lines, expiry and cancel."""

from __future__ import annotations

import json
import time
from typing import Any

import openai
import pytest

from app.llm import batch_lane
from app.llm.base import ArticleRequest, PermanentError
from app.llm.batch_lane import BatchState, LineResult
from app.llm.prompt import build_messages
from tests.support.fake_batches import BatchBehavior
from tests.support.stack import wait_for

PARAMS = {"model": "gpt-4o-mini", "max_tokens": 1500, "temperature": 0.7}


@pytest.fixture
def client(fake_llm: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake_llm.base_url, api_key="sk-test", max_retries=0,
                         timeout=10)


def _items(n: int, prefix: str = "Batch title") -> list[tuple[str, ArticleRequest]]:
    return [(f"item-{i}", ArticleRequest(f"{prefix} {i}", "tech")) for i in range(n)]


def _lines(n: int, prefix: str = "Batch title") -> list[bytes]:
    return batch_lane.build_lines(batch_lane.requests_for(_items(n, prefix), PARAMS))


def _wait_done(client: openai.OpenAI, batch_id: str, seen: list[BatchState] | None = None,
               timeout: float = 20) -> BatchState:
    def done() -> BatchState | None:
        state = batch_lane.poll(client, batch_id)
        if seen is not None:
            seen.append(state)
        return state if state.done else None

    return wait_for(done, timeout=timeout, interval=0.01, message=f"batch {batch_id} to end")


def test_lines_are_non_streamed_chat_bodies_with_the_real_time_prompt():
    request = ArticleRequest('Cats "quoted" — über', "pets")
    params = {**PARAMS, "stream": True, "stream_options": {"include_usage": True}}
    [line] = batch_lane.build_lines(batch_lane.requests_for([(42, request)], params))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {
        "custom_id": "42", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "max_tokens": 1500, "temperature": 0.7,
                 "messages": build_messages(request)}}
    with pytest.raises(ValueError, match="unique"):
        batch_lane.build_lines([("a", [], PARAMS), ("a", [], PARAMS)])
    with pytest.raises(ValueError, match="model"):
        batch_lane.build_lines([("a", [], {"max_tokens": 5})])


def test_split_keeps_order_within_line_and_byte_limits():
    lines = [b"x" * size + b"\n" for size in (9, 9, 19, 4, 4, 4, 29)]
    groups = batch_lane.split(lines, max_lines=3, max_bytes=30)
    assert [line for group in groups for line in group] == lines
    assert all(len(g) <= 3 and sum(map(len, g)) <= 30 for g in groups)
    assert [len(g) for g in groups] == [2, 3, 1, 1]  # 20 | 20+5+5 | 5 (+30 > 30) | 30
    assert batch_lane.split(lines) == [lines]
    assert batch_lane.split([]) == []
    with pytest.raises(ValueError, match="limit"):
        batch_lane.split([b"y" * 31], max_bytes=30)


def test_a_batch_of_20_with_2_failing_lines_completes_matched_by_custom_id(client, fake_llm):
    fake_llm.batches.fail("item-3", status=500)
    fake_llm.batches.fail("Batch title 17", status=400, message="Bad title (fake).",
                          type="invalid_request_error", code="invalid_value")
    items = _items(20)
    lines = batch_lane.build_lines(batch_lane.requests_for(items, PARAMS))
    [batch_id] = batch_lane.submit(client, lines, {"trustagency_batch": 7})

    # What was uploaded and created is exactly what we built.
    [upload] = fake_llm.batches.uploads
    assert upload.data == b"".join(lines) and upload.purpose == "batch"
    created = fake_llm.batches.get(batch_id)
    assert created.metadata == {"trustagency_batch": "7", "part": "1/1"}
    assert created.endpoint == "/v1/chat/completions" and created.completion_window == "24h"

    state = _wait_done(client, batch_id)
    assert state.status == "completed"
    assert (state.total, state.completed, state.failed) == (20, 18, 2)
    assert state.output_file_id and state.error_file_id

    # The fake wrote its output in another order than the input: matching is by custom_id.
    ids = [custom_id for custom_id, _ in items]
    output_order = fake_llm.batches.get(batch_id).output_order
    assert sorted(output_order) == sorted(set(ids) - {"item-3", "item-17"})
    assert output_order != [i for i in ids if i in output_order]
    results = batch_lane.read_results(client, state, expected=ids)
    assert [r.custom_id for r in results] == ids
    answers = fake_llm.batches.get(batch_id).answers  # what the fake wrote for each line
    assert len(set(answers.values())) == 18  # all different: a mix-up would show
    for custom_id, result in zip(ids, results, strict=True):
        if custom_id in ("item-3", "item-17"):
            continue
        assert result.ok and result.content == answers[custom_id], custom_id
        assert result.finish_reason == "stop" and result.model == "gpt-4o-mini"
        assert result.prompt_tokens > 0 and result.completion_tokens > 0
    failed = {r.custom_id: r for r in results if not r.ok}
    assert set(failed) == {"item-3", "item-17"}
    assert failed["item-3"].status_code == 500 and failed["item-3"].retryable
    assert failed["item-17"].error == "400: Bad title (fake)."
    assert failed["item-17"].error_code == "invalid_value"
    assert not failed["item-17"].retryable and failed["item-17"].ran


def test_states_and_request_counts_follow_the_clock(client, fake_llm):
    fake_llm.batches.behavior = BatchBehavior(validating=0.3, in_progress=1.0, finalizing=0.3)
    [batch_id] = batch_lane.submit(client, _lines(10), {})
    seen: list[BatchState] = []
    final = _wait_done(client, batch_id, seen)
    statuses = [s.status for i, s in enumerate(seen) if i == 0 or s.status != seen[i - 1].status]
    # Each state in order, none skipped, none come back to once left.
    assert statuses == ["validating", "in_progress", "finalizing", "completed"], statuses
    assert {s.total for s in seen if s.status == "validating"} == {0}
    progress = [s.completed for s in seen if s.status == "in_progress"]
    assert progress == sorted(progress)
    assert any(0 < p < 10 for p in progress), progress  # it grew over time
    assert (final.completed, final.failed) == (10, 0)


def test_submit_splits_into_several_provider_batches(client, fake_llm):
    fake_llm.batches.max_lines = 7  # the fake refuses bigger files, like OpenAI above 50,000
    items = _items(20)
    lines = batch_lane.build_lines(batch_lane.requests_for(items, PARAMS))
    ids = batch_lane.submit(client, lines, {"trustagency_batch": "9"}, max_lines=7)
    assert len(ids) == 3
    assert [len(u.lines) for u in fake_llm.batches.uploads] == [7, 7, 6]
    assert [fake_llm.batches.get(i).metadata["part"] for i in ids] == ["1/3", "2/3", "3/3"]
    results: dict[str, LineResult] = {}
    for batch_id in ids:
        state = _wait_done(client, batch_id)
        assert state.status == "completed"
        results.update({r.custom_id: r for r in batch_lane.read_results(client, state)})
    assert sorted(results) == sorted(custom_id for custom_id, _ in items)
    assert all(r.ok for r in results.values())

    # Unsplit, the same lines are refused by the validation: the limit is real.
    [too_big] = batch_lane.submit(client, lines, {})
    refused = _wait_done(client, too_big)
    assert refused.status == "failed" and "more than 7 requests" in refused.errors[0]
    assert batch_lane.read_results(client, refused) == []


def test_an_expired_batch_keeps_the_lines_it_finished(client, fake_llm):
    fake_llm.batches.plan(BatchBehavior(in_progress=0.4, expire_after=5))
    items = _items(20, "Expiring title")
    [batch_id] = batch_lane.submit(client, batch_lane.build_lines(
        batch_lane.requests_for(items, PARAMS)), {})
    state = _wait_done(client, batch_id)
    assert state.status == "expired"
    assert (state.completed, state.failed) == (5, 0)
    results = batch_lane.read_results(client, state, expected=[i for i, _ in items])
    done = [r for r in results if r.ok]
    assert len(done) == 5
    answers = fake_llm.batches.get(batch_id).answers
    assert {r.custom_id: r.content for r in done} == answers
    rest = [r for r in results if not r.ok]
    assert len(rest) == 15
    assert {r.error_code for r in rest} == {"batch_expired"}
    assert all(r.retryable and not r.ran for r in rest)


def test_cancel_takes_a_while_and_keeps_the_finished_lines(client, fake_llm):
    fake_llm.batches.behavior = BatchBehavior(in_progress=4.0, cancelling=0.3)
    items = _items(20, "Cancelled title")
    [batch_id] = batch_lane.submit(client, batch_lane.build_lines(
        batch_lane.requests_for(items, PARAMS)), {})
    wait_for(lambda: batch_lane.poll(client, batch_id).completed >= 3, timeout=20,
             interval=0.01, message="three lines done")
    cancelling = batch_lane.cancel(client, batch_id)
    assert cancelling.status == "cancelling"
    kept = cancelling.completed
    assert 3 <= kept < 20
    assert batch_lane.cancel(client, batch_id).status == "cancelling"  # asking twice is fine
    state = _wait_done(client, batch_id)
    assert state.status == "cancelled"
    assert state.completed == kept  # nothing finished after the cancel
    results = batch_lane.read_results(client, state, expected=[i for i, _ in items])
    assert sum(r.ok for r in results) == kept
    assert {r.error_code for r in results if not r.ok} == {"batch_cancelled"}
    # A batch that already ended is returned as it is.
    assert batch_lane.cancel(client, batch_id).status == "cancelled"


def test_cancelling_a_completed_batch_returns_it_completed(client, fake_llm):
    [batch_id] = batch_lane.submit(client, _lines(2), {})
    _wait_done(client, batch_id)
    assert batch_lane.cancel(client, batch_id).status == "completed"


def test_lines_missing_from_both_files_are_reported_missing(client, fake_llm):
    [batch_id] = batch_lane.submit(client, _lines(3), {})
    state = _wait_done(client, batch_id)
    results = batch_lane.read_results(client, state, expected=["item-0", "item-1", "item-2",
                                                                "item-99"])
    assert [r.ok for r in results] == [True, True, True, False]
    assert results[3].error_code == "missing" and results[3].retryable


def test_provider_errors_are_the_real_time_lane_classes(client):
    with pytest.raises(PermanentError, match="404"):
        batch_lane.poll(client, "batch_nope")
    with pytest.raises(ValueError, match="no lines"):
        batch_lane.submit(client, [], {})


def test_a_failed_submit_cancels_the_batches_it_made(client, fake_llm):
    fake_llm.batches.behavior = BatchBehavior(in_progress=30)
    real_create = client.batches.create
    calls = []

    def create(**kwargs: Any) -> Any:
        calls.append(kwargs)
        if len(calls) == 2:
            kwargs["completion_window"] = "1h"  # the fake answers 400, like OpenAI
        return real_create(**kwargs)

    client.batches.create = create  # type: ignore[method-assign]
    with pytest.raises(batch_lane.SubmitError, match="part 2/2") as caught:
        batch_lane.submit(client, _lines(4), {}, max_lines=2)
    [first] = caught.value.batch_ids
    assert not caught.value.retryable
    assert fake_llm.batches.get(first).status in ("cancelling", "cancelled")


def test_a_provider_batch_is_found_again_by_its_metadata_across_pages(client, fake_llm):
    file_id = batch_lane.upload(client, _lines(2))
    other = batch_lane.upload(client, _lines(2, "Other title"))
    created = [batch_lane.create(client, file_id, {"trustagency_intent": f"intent-{n}"})
               for n in range(101)]  # more than one page of the list (100)
    batch_lane.create(client, other, {"trustagency_intent": "intent-0"})
    oldest = batch_lane.find(client, "trustagency_intent", "intent-0", input_file_id=file_id)
    assert oldest is not None and oldest.id == created[0].id
    assert oldest.metadata == {"trustagency_intent": "intent-0"}
    assert batch_lane.find(client, "trustagency_intent", "intent-101") is None
    # Batches created before `since` (less a minute for clocks) are not looked at.
    assert batch_lane.find(client, "trustagency_intent", "intent-0", input_file_id=file_id,
                           since=time.time() + 3600) is None
