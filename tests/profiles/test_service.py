"""Category profiles on a real database: the defaults, overrides, versions and the limits."""

from __future__ import annotations

import pytest

from app.core.db import session_scope
from app.profiles import service
from app.profiles.defaults import DEFAULT_PROFILES
from app.profiles.errors import ProfileError


def _refused(call, *args) -> ProfileError:
    with pytest.raises(ProfileError) as err, session_scope() as session:
        call(session, *args)
    return err.value


def test_the_built_in_defaults_answer_until_a_row_overrides_them(db):
    with session_scope() as session:
        guide = service.get(session, "Guide")
        assert (guide.category, guide.builtin, guide.version, guide.id) == ("guide", True, 0, None)
        assert guide.spec == DEFAULT_PROFILES["guide"]
        unknown = service.get(session, "crypto-wallets")
        assert unknown.category == "default" and unknown.spec == DEFAULT_PROFILES["default"]
        assert [p.category for p in service.list_profiles(session)] == [
            "default", "guide", "news", "review"]


def test_a_change_stores_the_profile_and_bumps_its_version(db):
    with session_scope() as session:
        first = service.update(session, "review", {"min_words": 300, "max_words": 450,
                                                   "model": "review-model"})
        assert (first.builtin, first.version, first.spec.min_words) == (False, 1, 300)
        # Everything not named comes from the built-in review profile.
        assert first.spec.instructions == DEFAULT_PROFILES["review"].instructions
    with session_scope() as session:
        second = service.update(session, "review", {"temperature": 0.2, "model": None})
        assert (second.version, second.id) == (2, first.id)
        assert (second.spec.model, second.spec.temperature, second.spec.max_words) == (
            None, 0.2, 450)
        assert service.effective(session, "review").version == 2


def test_a_stored_default_profile_covers_unknown_categories_only(db):
    with session_scope() as session:
        service.create(session, "default", {"instructions": "Site-wide rules.",
                                            "min_sections": 1})
    with session_scope() as session:
        assert service.get(session, "pets").spec.instructions == "Site-wide rules."
        assert service.get(session, "pets").category == "default"
        assert service.get(session, "news").builtin  # its own built-in still wins


def test_create_conflicts_delete_restores_the_default(db):
    with session_scope() as session:
        created = service.create(session, "pets", {"instructions": "Cats and dogs."})
        assert (created.category, created.version) == ("pets", 1)
        assert created.spec.min_words == DEFAULT_PROFILES["default"].min_words
    assert _refused(service.create, "pets", {}).status_code == 409
    with session_scope() as session:
        service.delete(session, "pets")
    with session_scope() as session:
        assert service.get(session, "pets").category == "default"
    assert _refused(service.delete, "pets").status_code == 404


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"min_words": 49}, "min_words", "between 50 and 10000"),
    ({"max_chars": 20_001}, "max_chars", "between 50 and 20000"),
    ({"min_words": 900, "max_words": 800}, "min_words", "must not be above max_words"),
    ({"max_chars": 100}, "max_chars", "min_chars (1200) must not be above"),
    ({"min_sections": 2.5}, "min_sections", "whole number"),
    ({"duplicate_threshold": 0.1}, "duplicate_threshold", "between 0.2 and 1"),
    ({"temperature": 3}, "temperature", "between 0 and 2"),
    ({"temperature": True}, "temperature", "must be a number"),
    ({"model": "two words"}, "model", "model name"),
    ({"instructions": "  "}, "instructions", "non-empty"),
    ({"instructions": "x" * 4001}, "instructions", "at most 4000"),
    ({"instructions": "bell\x07"}, "instructions", "control characters"),
    ({"min_words": None}, "min_words", "must not be null"),
    ({"colour": "red"}, "colour", "not a profile field"),
    ({}, "body", "at least one field"),
])
def test_bad_fields_are_422_naming_the_field(db, changes, field, message):
    err = _refused(service.update, "review", changes)
    assert (err.status_code, err.field) == (422, field) and message in err.message
    with session_scope() as session:
        assert service.get(session, "review").builtin


def test_a_category_must_be_a_slug(db):
    err = _refused(service.get, "Not a slug!")
    assert (err.status_code, err.field) == (422, "category")
