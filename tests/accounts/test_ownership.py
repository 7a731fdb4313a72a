"""Identity feeds the domain: a batch's owner is who submitted it, only they (or an admin) may
change it, and the reviewer recorded is the signed-in user whatever the body says."""

from __future__ import annotations

from typing import Any

from tests.accounts.conftest import Account
from tests.support.articles import ZH_ARTICLE, add_batch

BODY = {"titles": ["所有权测试", "Ownership"], "category": "guide"}


def _submit(client: Any, account: Account, **extra: Any) -> Any:
    return client.post("/api/tasks/generate-articles", json={**BODY, **extra},
                       headers=account.headers)


def test_a_batch_belongs_to_its_submitter_and_only_they_or_an_admin_change_it(
        client: Any, accounts: dict[str, Account]) -> None:
    editor, reviewer, admin = accounts["editor"], accounts["reviewer"], accounts["admin"]
    batch = _submit(client, editor, owner="")
    assert batch.status_code == 202 and batch.json()["owner"] == "editor-user"
    task = batch.json()["task_id"]
    refused = client.post(f"/api/tasks/{task}/cancel", headers=reviewer.headers)
    assert refused.status_code == 403
    assert "belongs to editor-user" in refused.json()["detail"]
    assert client.patch(f"/api/tasks/{task}", json={"priority": "high"},
                        headers=reviewer.headers).status_code == 403
    assert client.patch(f"/api/tasks/{task}", json={"priority": "high"},
                        headers=editor.headers).status_code == 200
    assert client.post(f"/api/tasks/{task}/cancel", headers=admin.headers).status_code == 202


def test_only_an_admin_submits_on_behalf_of_an_existing_user(
        client: Any, accounts: dict[str, Account]) -> None:
    editor, admin = accounts["editor"], accounts["admin"]
    claimed = _submit(client, editor, owner="reviewer-user")
    assert claimed.status_code == 403 and claimed.json()["errors"][0]["field"] == "owner"
    assert _submit(client, editor, owner="EDITOR-USER").json()["owner"] == "editor-user"
    behalf = _submit(client, admin, owner="Reviewer-User")
    assert behalf.status_code == 202 and behalf.json()["owner"] == "reviewer-user"
    ghost = _submit(client, admin, owner="nobody-here")
    assert ghost.status_code == 422 and "no user named" in ghost.json()["detail"]


def test_schedules_belong_to_their_creator(client: Any, accounts: dict[str, Account]) -> None:
    editor, reviewer = accounts["editor"], accounts["reviewer"]
    made = client.post("/api/schedules", headers=editor.headers,
                       json={"name": "每日", "cron": "0 6 * * *", "titles": ["A"],
                             "category": "guide", "enabled": False})
    assert made.status_code == 201, made.text
    assert made.json()["owner"] == "editor-user"
    schedule = made.json()["id"]
    assert client.delete(f"/api/schedules/{schedule}", headers=reviewer.headers
                         ).status_code == 403
    assert client.delete(f"/api/schedules/{schedule}", headers=editor.headers
                         ).status_code == 204


def test_the_reviewer_is_the_signed_in_user_not_the_body(
        client: Any, accounts: dict[str, Account]) -> None:
    reviewer = accounts["reviewer"]
    _batch, (article_id,) = add_batch([ZH_ARTICLE])
    answer = client.post(f"/api/articles/{article_id}/approve", headers=reviewer.headers,
                         json={"reviewer": "Someone Else", "version": 1})
    assert answer.status_code == 200, answer.text
    assert answer.json()["reviewer"] == "reviewer-user"
    assert client.post(f"/api/articles/{article_id}/publish", headers=accounts["editor"].headers
                       ).status_code == 403
