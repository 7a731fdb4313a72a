"""app.accounts.service and its helpers on the fast unit database."""

from __future__ import annotations

import pytest

from app.accounts import credentials, service
from app.accounts.errors import AccountError, LoginFailed
from app.accounts.hosts import allowed, host_name
from app.accounts.permissions import Role
from app.config import Settings
from app.core.db import session_scope


def test_the_first_admin_is_made_once_on_an_empty_table(db: str) -> None:
    with session_scope() as session:
        password = service.ensure_first_admin(session)
    assert password and len(password) >= 16
    with session_scope() as session:
        assert service.ensure_first_admin(session) is None
        assert service.authenticate(session, "ADMIN", password).role == "admin"
        with pytest.raises(LoginFailed):
            service.authenticate(session, "admin", password + "x")


def test_names_are_unique_whatever_their_case_and_display_names_take_chinese(db: str) -> None:
    with session_scope() as session:
        user = service.create_user(session, "Wei", Role.EDITOR, display_name=" 魏  ")
        assert (user.name, user.name_key, user.display_name) == ("Wei", "wei", "魏")
        with pytest.raises(AccountError, match="exists already"):
            service.create_user(session, "wEI", Role.VIEWER)


def test_passwords_are_argon2id_and_weak_ones_are_refused_naming_the_field(db: str) -> None:
    stored = credentials.hash_password("a long passphrase 2026")
    assert stored.startswith("$argon2id$")
    assert credentials.password_matches(stored, "a long passphrase 2026")
    assert not credentials.password_matches(stored, "a long passphrase 2027")
    assert not credentials.password_matches(None, "anything at all")
    for weak in ("short", "changeme12345", "Password123!", "aaaaaaaaaaaaaaaa", "my name is kim!"):
        with pytest.raises(AccountError) as refused:
            service.check_password(weak, "kim")
        assert refused.value.field == "password"


def test_a_token_is_its_prefix_and_256_random_bits_stored_as_a_digest() -> None:
    made = credentials.new_token()
    assert made.value.startswith(made.prefix) and len(made.prefix) == 11
    assert made.digest == credentials.digest(made.value) and made.value not in made.digest
    assert credentials.new_token().value != made.value


@pytest.mark.parametrize(("host", "name"), [
    ("localhost:8000", "localhost"), ("[::1]:8000", "[::1]"), ("[::1]", "[::1]"),
    ("Example.COM", "example.com"), ("127.0.0.1", "127.0.0.1")])
def test_host_names_drop_the_port(host: str, name: str) -> None:
    assert host_name(host) == name


def test_the_allowed_hosts_setting() -> None:
    hosts = Settings(api_allowed_hosts=" Articles.example.com, localhost ,").api_allowed_hosts
    assert hosts == ["articles.example.com", "localhost"]
    assert allowed("articles.example.com:443", hosts)
    assert not allowed("evil.example", hosts) and not allowed("", hosts)
    assert allowed("anything", ["*"])
