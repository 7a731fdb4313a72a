"""What a secret someone chose must not be: short, or a placeholder left from an example.

Shared by the start-up check of API_TOKEN (app.core.exposure) and the password rules of
app.accounts, so both refuse the same words.
"""

from __future__ import annotations

# Words example files and tutorials ship; lower-cased, punctuation and digits at the end ignored.
PLACEHOLDERS = frozenset({
    "change-me", "changeme", "change_me", "secret", "password", "passw0rd", "token", "test",
    "example", "admin", "default", "letmein", "qwerty", "12345678", "123456789012", "xxxxxxxx",
    "your-token", "your_token", "yourtoken", "your-api-token", "api-token", "api_token",
    "changethis", "change-this", "replace-me", "replaceme", "todo", "fixme", "dummy",
})


def is_placeholder(value: str) -> bool:
    """`change-me`, `Password123!`, `secretsecretsecret`: a placeholder word, perhaps with
    digits or punctuation after it, or one word repeated."""
    text = value.strip().lower()
    core = text.rstrip("0123456789!?.#*_-")
    if text in PLACEHOLDERS or core in PLACEHOLDERS:
        return True
    return any(core and core == word * (len(core) // len(word)) for word in PLACEHOLDERS
               if len(core) % len(word) == 0)


def weakness(value: str, min_length: int) -> str | None:
    """Why `value` is too weak to protect anything, or None."""
    if len(value) < min_length:
        return f"at least {min_length} characters, got {len(value)}"
    if is_placeholder(value) or len(set(value)) < 4:
        return "a placeholder or a repeated pattern; choose a random one"
    return None
