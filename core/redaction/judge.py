"""Judgement: is a key named like a credential, and does its value look like a secret?

A value after a credential key is a secret unless it is plainly something else: a placeholder
(`${DB_PASSWORD}`, `****`), a status word (`token: expired`), a short number (`pass: 3`), a
path, a code reference (`settings.password`) or, for keys other than passwords, an identifier
made of words (`SecretName: db-credentials`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter

_WORD_SPLIT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_PASSWORD_WORDS = frozenset({"password", "passwd", "passphrase", "pwd", "pw", "pass"})
_CREDENTIAL_WORDS = _PASSWORD_WORDS | frozenset(
    {"secret", "secrets", "token", "credential", "credentials", "cookie", "auth",
     "authorization", "session", "sessionid", "apikey", "privatekey", "accesskey", "secretkey",
     "passcode", "pin", "otp", "bearer", "jwt", "sas", "dsn"}
)  # fmt: skip
_KEY_PAIRS = frozenset(
    {("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"),
     ("signing", "key"), ("account", "key"), ("client", "key"), ("master", "key"),
     ("encryption", "key"), ("auth", "key"), ("license", "key"), ("shared", "key"),
     ("app", "key"), ("service", "key"), ("webhook", "key"), ("consumer", "key")}
)  # fmt: skip
# A key ending in one of these names a *property* of a credential, not the credential.
_NOT_VALUE_ENDINGS = frozenset(
    {"name", "names", "id", "ids", "type", "file", "path", "dir", "ttl", "expiry", "expires",
     "expired", "expiration", "length", "count", "size", "limit", "at", "enabled", "policy",
     "version", "ref", "kind", "mode", "format", "header", "endpoint", "timeout", "rotation",
     "hint", "field", "prompt", "required", "env", "var", "source", "url", "uri", "arn",
     "provider", "store", "class", "algorithm", "alg", "min", "max", "used", "exists",
     "regex", "pattern", "method", "scheme", "usage", "label", "labels", "namespace", "stdin"}
)  # fmt: skip
_ALWAYS_CREDENTIAL = frozenset({"sessionid", "session_id", "jsessionid", "phpsessid"})
_NEVER_CREDENTIAL = frozenset({"pwd", "oldpwd", "author", "authors", "max_tokens", "tokens"})
_ID_ENDINGS = frozenset(
    {"id", "ids", "sha", "hash", "digest", "checksum", "etag", "trace", "fingerprint", "span"}
)
_PROSE = frozenset(
    {
        "expired", "invalid", "missing", "required", "none", "null", "nil", "empty", "true",
        "false",
        "yes", "no", "enabled", "disabled", "present", "absent", "set", "unset", "valid", "ok",
        "error", "failed", "revoked", "rotated", "hidden", "masked", "redacted", "changed",
        "updated", "reset", "provided", "found", "unknown", "pending", "active", "inactive",
        "string", "value", "example", "default", "dummy", "test", "sample", "placeholder",
        "optional", "sensitive", "encrypted", "generated", "refreshed", "granted", "denied",
        "accepted", "rejected", "mismatch", "incorrect", "wrong", "is", "was", "has", "the", "a",
        "an", "of", "for", "not", "must", "should", "will", "can", "cannot", "in", "on", "at",
        "from", "to", "with", "without", "too", "short", "long", "weak", "strong", "secret",
        "password", "token", "key", "bearer", "basic", "digest", "undefined", "omitted", "supplied",
        "configured", "removed", "deleted", "created", "stored", "saved",
    }
)  # fmt: skip
_PLACEHOLDER = re.compile(
    r"""(?x)^(?:
      \$\{[^}]*\}|\$\(?[A-Za-z_]\w*\)?|\{\{.*\}\}|%\(?\w*\)?s|<[^<>]*>|\[REDACTED[^\]]*\]
      |\*+|x{3,}|X{3,}|\.{3,}|…|-+|_+|\[MASKED[^\]]*\]|"{2}|'{2}|\?+|#+
    )$"""
)
_SEGMENT = r"(?:[a-z0-9._@+-]+|[A-Z][a-z0-9._-]*)"
# After a leading `/`, any run of segments is any run of their characters with no `//`:
# written `(?:X+/)*X*` (each `/` ends one repetition) instead of `(?:SEGMENT/?)*`, which
# splits a run of letters in 2**n ways when the value does not end like a path.
_PATH = re.compile(
    rf"^(?:(?:~|\.{{1,2}})?/(?:[A-Za-z0-9._@+-]+/)*[A-Za-z0-9._@+-]*"
    rf"|{_SEGMENT}(?:/{_SEGMENT})+/?)(?::\S*)?$"
)
_CODE_REF = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
_IDENTIFIER_PART = re.compile(r"^(?:[a-z]{2,}|[A-Z][a-z]+|[A-Z]{2,5}|[a-z]|v\d{1,3}|\d{1,4})$")
_VOWELS = re.compile(r"[aeiouyAEIOUY]")
_SPACE = re.compile(r"\s")  # the characters str.isspace() accepts
_CLASSES = (re.compile("[a-z]"), re.compile("[A-Z]"), re.compile("[0-9]"))


def key_words(key: str) -> list[str]:
    """`X-API-Key` -> ['x', 'api', 'key']; `SecretAccessKey` -> ['secret', 'access', 'key']."""
    return [word.lower() for word in _WORD_SPLIT.findall(key)]


def credential_key(key: str) -> bool:
    """True when a key names a credential value (password, token, apiKey, X-API-Key, ...)."""
    flat = key.strip("\"'").lower().replace("-", "_").lstrip("_")
    if flat in _ALWAYS_CREDENTIAL:
        return True
    if flat in _NEVER_CREDENTIAL:
        return False
    words = key_words(key)
    if not words or words[-1] in _NOT_VALUE_ENDINGS:
        return False
    if any(word in _CREDENTIAL_WORDS for word in words):
        return True
    return any(pair in _KEY_PAIRS for pair in itertools.pairwise(words))


def password_key(key: str) -> bool:
    """True for keys that name a password, whose values are secrets even when they read as words."""
    words = key_words(key)
    return bool(words) and words != ["pass"] and any(w in _PASSWORD_WORDS for w in words)


def entropy(value: str) -> float:
    """Shannon entropy of `value` in bits per character (0 for an empty string)."""
    if not value:
        return 0.0
    counts = Counter(value)  # one pass, where str.count per distinct character took many
    size = len(value)
    return -sum(counts[char] / size * math.log2(counts[char] / size) for char in set(value))


def identifier_like(value: str) -> bool:
    """True for names made of words joined by `-`, `_` or `.` (db-credentials, user-profile-v2)."""
    parts = re.split(r"[-_.]", value)
    if len(parts) < 2 or not all(_IDENTIFIER_PART.match(part) for part in parts):
        return False
    words = [part for part in parts if part.isalpha() and len(part) >= 3]
    return bool(words) and all(_VOWELS.search(word) for word in words)


def placeholder(value: str) -> bool:
    """True for values that stand for a secret without being one (`${X}`, `****`, `<token>`)."""
    return bool(_PLACEHOLDER.match(value.strip()))


def secret_value(key: str, value: str) -> bool:
    """Whether `value`, found after the credential key `key`, should be treated as a secret."""
    value = value.strip()
    if len(value) < 3 or placeholder(value) or value.lower() in _PROSE:
        return False
    if value.isdigit() and len(value) < 6:
        return False
    if _PATH.match(value) and not password_key(key):
        return False
    if _CODE_REF.match(value) and not any(c.isdigit() for c in value):
        return False
    return password_key(key) or not identifier_like(value)


def random_looking(key: str, value: str) -> bool:
    """A long token with mixed character classes and high entropy under a key that names no id."""
    words = key_words(key)
    if len(value) < 32 or (words and words[-1] in _ID_ENDINGS):
        return False
    if _SPACE.search(value) or "\\n" in value:
        return False  # a token is one word: text with blanks or escaped lines is prose or code
    # the cheap tests first: a long value is judged in a few passes in C, none in Python
    classes = sum(bool(rx.search(value)) for rx in _CLASSES)
    return classes == 3 and entropy(value) >= 4.5 and not identifier_like(value)
