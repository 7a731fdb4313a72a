"""The batch panel's costs, pause and resume in a real browser (issue 12), in English and
Chinese, against a real uvicorn, workers and the fake OpenAI server."""

from __future__ import annotations

import re

from tests.browser.test_page import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    browser,
    expect,
    submit_from_page,
    tab,
)
from tests.support import http
from tests.support.server import running_api


def test_the_batch_panel_shows_the_cost_and_a_paused_batch_resumes(
        database, tmp_path, start_worker, fake_llm, llm_env, tab):  # noqa: F811
    page = tab.page
    start_worker(concurrency=2, **{**llm_env, "OPENAI_MODEL": "gpt-4o-mini"})
    with running_api(database, tmp_path) as server:
        page.goto(server.url)
        card = submit_from_page(page, [f"Page cost title {i}" for i in range(10)])
        expect(card.locator(".badge")).to_have_text("completed", timeout=60_000)
        status = http.get(f"{server.url}/api/tasks/{card.get_attribute('data-task-id')}"
                          "/status").json()
        tokens = status["prompt_tokens"] + status["completion_tokens"]
        cost = card.locator(".cost")
        expect(cost).to_contain_text(f"{tokens:,} tokens")
        shown = float(re.search(r"\$([\d.]+)", cost.inner_text()).group(1))  # type: ignore
        assert abs(shown - status["cost_usd"]) < 1e-6, (shown, status["cost_usd"])

        # A cap below one call's worst case: paused at once, with the reason and Resume.
        paused = http.post(f"{server.url}/api/tasks/generate-articles", json={
            "titles": ["Capped page title"], "category": "guide", "max_cost_usd": 0.0001}).json()
        capped = page.locator(f'article.batch[data-task-id="{paused["task_id"]}"]')
        expect(capped.locator(".badge")).to_have_text("paused", timeout=30_000)
        expect(capped.locator(".batch-paused")).to_contain_text(
            "Paused: batch budget of $0.0001 is below one call's worst-case cost")
        resume = capped.get_by_role("button", name="Resume")
        expect(resume).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "costs.png"), full_page=True)
        page.click("#lang-toggle")
        expect(capped.locator(".badge")).to_have_text("已暂停")
        expect(capped.get_by_role("button", name="继续")).to_be_visible()
        expect(capped.locator(".batch-paused")).to_contain_text("已暂停：batch budget")
        page.click("#lang-toggle")

        # Resume before raising the cap: refused, and the page says why.
        resume.click()
        expect(page.locator("#toast")).to_contain_text("raise max_cost_usd")
        assert http.patch(f"{server.url}/api/tasks/{paused['task_id']}",
                          json={"max_cost_usd": 1}).status_code == 200
        resume.click()
        expect(capped.locator(".badge")).to_have_text("completed", timeout=30_000)
        expect(capped.get_by_role("button", name="Resume")).to_be_hidden()
        expect(capped.locator(".cost")).to_contain_text("tokens")
