"""The accounts domain's errors: one base, a subclass per refusal a caller may catch."""

from __future__ import annotations

from app.core.errors import DomainError


class AccountError(DomainError):
    """Bad input to users, tokens or a login (422 unless a subclass says otherwise)."""


class UserNotFound(AccountError):
    status_code = 404

    def __init__(self, name: str, field: str = "name") -> None:
        super().__init__(field, f"no user named {name!r}")
        self.name = name


class UserNameTaken(AccountError):
    status_code = 409

    def __init__(self, name: str) -> None:
        super().__init__("name", f"a user named {name!r} exists already (names ignore case)")
        self.name = name


class TokenNotFound(AccountError):
    status_code = 404

    def __init__(self, token_id: int) -> None:
        super().__init__("token_id", f"no token {token_id} of this user")
        self.token_id = token_id


class LoginFailed(AccountError):
    """Wrong name or password, or a disabled user (one message: no hint which)."""

    status_code = 401

    def __init__(self) -> None:
        super().__init__("password", "wrong name or password")


class LoginThrottled(AccountError):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("password", f"too many failed logins for this name from this address; "
                         f"try again in {retry_after} s")
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class NotOwner(AccountError):
    """An editor or reviewer acting on someone else's batch or schedule."""

    status_code = 403

    def __init__(self, what: str, owner: str | None, actor: str) -> None:
        super().__init__("owner", f"{what} belongs to {owner or 'nobody'}; {actor} may act "
                         "only on their own (or ask an admin)")
        self.owner = owner
