"""The domain's checks on a batch's priority and owner, and the Idempotency-Key fingerprint:
every refusal names its field; the schema's bounds are the ones applied here."""

from __future__ import annotations

import re

import pytest

from app.batches.enums import Priority
from app.batches.errors import BatchError
from app.batches.validation import (
    FINGERPRINT_VERSION,
    OWNER_MAX_LENGTH,
    OWNER_PATTERN,
    clean_owner,
    clean_priority,
    fingerprint,
)


@pytest.mark.parametrize(("given", "stored"), [
    (None, Priority.NORMAL), ("high", Priority.HIGH), (" LOW ", Priority.LOW),
    ("Normal", Priority.NORMAL),
])
def test_priority_is_one_of_three_and_defaults_to_normal(given, stored):
    assert clean_priority(given) == stored


@pytest.mark.parametrize("given", ["urgent", "", 1, True, ["high"]])
def test_another_priority_is_refused_naming_the_field(given):
    with pytest.raises(BatchError) as refused:
        clean_priority(given)
    assert (refused.value.field, refused.value.status_code) == ("priority", 422)
    assert "high, normal, low" in refused.value.message


@pytest.mark.parametrize(("given", "stored"), [
    ("alice", "alice"),
    ("  Alice  Smith ", "Alice Smith"),  # trimmed, runs of spaces folded
    ("编辑部", "编辑部"),
    ("\u3000编辑部\u3000", "编辑部"),  # the ideographic space is a space too
    ("x" * OWNER_MAX_LENGTH, "x" * OWNER_MAX_LENGTH),
    ("", None), ("   ", None), (None, None),  # blank: no owner
])
def test_an_owner_is_one_trimmed_line_or_none(given, stored):
    assert clean_owner(given) == stored


@pytest.mark.parametrize(("given", "why"), [
    ("x" * (OWNER_MAX_LENGTH + 1), "at most 100 characters"),
    ("alice\nbob", "control characters"),
    ("alice\tbob", "control characters"),
    ("nul\x00", "control characters"),
    ("c1\x85", "control characters"),
    ("half \ud800", "unpaired surrogates"),
    (42, "must be a string"),
])
def test_a_bad_owner_is_refused_naming_the_field(given, why):
    with pytest.raises(BatchError) as refused:
        clean_owner(given)
    assert (refused.value.field, refused.value.status_code) == ("owner", 422)
    assert why in refused.value.message


def test_the_schema_pattern_accepts_exactly_what_the_domain_accepts():
    pattern = re.compile(OWNER_PATTERN)
    for accepted in ("alice", "编辑部", "  ", "", "Team · Finance/Tax"):
        assert pattern.search(accepted)
        clean_owner(accepted)
    for refused in ("a\nb", "a\tb", "\x7f", "\x9f"):
        assert not pattern.search(refused)
        with pytest.raises(BatchError):
            clean_owner(refused)


def test_the_fingerprint_covers_every_field_of_the_request():
    base = {"language": None, "mode": "realtime", "max_cost_usd": None, "priority": "normal",
            "owner": None}
    first = fingerprint(["A"], "guide", **base)
    assert first.startswith(FINGERPRINT_VERSION)
    assert fingerprint(["A"], "guide", **base) == first
    changed = [fingerprint(["B"], "guide", **base), fingerprint(["A"], "news", **base)]
    for field, value in [("language", "zh-CN"), ("mode", "batch"), ("max_cost_usd", 5.0),
                         ("priority", "high"), ("owner", "alice")]:
        changed.append(fingerprint(["A"], "guide", **{**base, field: value}))
    assert len(set(changed)) == len(changed) and first not in changed
    # Owners differing only in a character beyond ASCII stay apart.
    assert fingerprint(["A"], "guide", **{**base, "owner": "编辑部"}) != fingerprint(
        ["A"], "guide", **{**base, "owner": "编辑"})
