"""Budgets that cannot be dodged with a model nobody prices: while a cap applies, submitting
for an unpriced model is refused (422 naming `model` and LLM_PRICES), and a batch that reaches
a worker anyway pauses with that reason before any call."""

from __future__ import annotations

import json
from typing import Any

from tests.support.stack import use_settings, wait_for

OPENAI = {"llm_provider": "openai", "openai_api_key": "sk-test-unpriced-0123456789",
          "openai_base_url": "http://127.0.0.1:9/v1", "openai_model": "my-local-llama"}


def _submit(api: Any, **body: Any) -> Any:
    return api.post("/api/tasks/generate-articles",
                    json={"titles": ["无价之宝：一个没有价格的模型"], "category": "guide", **body})


def test_submit_refuses_an_unpriced_model_while_a_cap_applies(api: Any) -> None:
    use_settings(**OPENAI)
    try:
        assert _submit(api).status_code == 202  # no cap: an unknown cost is only unknown
        refused = _submit(api, max_cost_usd=5.0)
        assert refused.status_code == 422
        error = refused.json()["errors"][0]
        assert error["field"] == "model"
        assert "'my-local-llama'" in error["message"] and "LLM_PRICES" in error["message"]
        assert "max_cost_usd" in error["message"] and "OPENAI_MODEL" in error["message"]

        use_settings(budget_daily_usd="20")
        assert "BUDGET_DAILY_USD" in _submit(api).json()["detail"]
        use_settings(llm_prices=json.dumps({"my-local-llama": {"input": 1, "output": 2}}))
        assert _submit(api).status_code == 202  # priced: the cap can count it
    finally:
        use_settings(llm_provider="", openai_api_key="", openai_base_url="",
                     openai_model="gpt-4o-mini", budget_daily_usd="0", llm_prices=None)


def test_a_capped_batch_on_an_unpriced_model_pauses_with_the_reason(
        api: Any, start_worker: Any, fake_llm: Any, llm_env: dict[str, str]) -> None:
    # The API here writes offline (priced at 0), the worker talks to an unpriced model: what
    # happens when the profile or the worker's settings changed after the submit.
    start_worker(concurrency=1, BUDGET_DAILY_USD="20", **llm_env)
    use_settings(budget_daily_usd="20")
    try:
        task = _submit(api).json()["task_id"]

        def paused() -> dict[str, Any] | None:
            status = api.get(f"/api/tasks/{task}/status").json()
            return status if status["status"] == "paused" else None

        status = wait_for(paused, timeout=30, message="the batch to pause on the unpriced model")
    finally:
        use_settings(budget_daily_usd="0")
    assert "'test-model' has no known price" in status["paused_reason"]
    assert "LLM_PRICES" in status["paused_reason"] and status["resume_at"] is None
    assert fake_llm.count() == 0  # no call was made
    assert status["items"][0]["status"] == "pending" and status["items"][0]["attempts"] == 0
