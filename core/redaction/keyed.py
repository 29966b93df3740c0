"""Secrets found by what surrounds them: `key: value` pairs (JSON, YAML, env, XML, tables),
HTTP credentials (Authorization, Cookie), command-line credentials and URL passwords."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator
from urllib.parse import unquote_plus

from core.redaction.hits import Hit
from core.redaction.judge import credential_key, entropy, random_looking, secret_value
from core.redaction.pairs import Pair, Runs, find_pair
from core.redaction.scan import runs_finditer, until

# In previews a masked value never holds a character that makes a shell or a config do
# something, so the masking can never hide code.
_ACTIVE = re.compile(r"[$`;|&()<>\\\n{}@/]")  # and a host or a path: where it goes
_BASE64_VALUE = re.compile(r"^[A-Za-z0-9+/]{16,}={0,2}$")
_AUTH = re.compile(
    r"""(?ix)\b(?:proxy-)?authorization\\*["']?[ \t]*[:=][ \t]*\\*["']?[ \t]*
    (?:(?P<scheme>basic|bearer|token|negotiate|ntlm|apikey|sso-key)[ \t]+(?P<token>[^\s"'\\,;]+)
      |(?P<rest>(?:digest|aws4-hmac-sha256)[ \t]+[^\r\n"'\\]+|[^\s"'\\,;]{8,}))"""
)
_BEARER = re.compile(r"(?i)\bbearer\s+(?P<v>[0-9A-Za-z._~+/=-]{16,})")
_BASIC = re.compile(r"(?i)\bbasic\s+(?P<v>[A-Za-z0-9+/]{6,}={0,2})(?![\w+/=])")
_COOKIE = re.compile(r"(?im)\b(?P<set>set-)?cookie\\*[\"']?[ \t]*:[ \t]*(?P<rest>[^\r\n\"'\\]*)")
_COOKIE_PAIR = re.compile(r"(?:^|;)[ \t]*(?P<name>[^=;\s]+)=(?P<v>[^;\s]*)")
_CURL_USER = re.compile(r"""(?<![\w-])(?:-u|--user)(?:[ \t]*|=)["']?[^\s:"'@]+:(?P<v>[^\s"']+)""")
_MYSQL_P = re.compile(
    r"""\b(?:mysql\w*|mariadb\w*)\b[^\n]*?(?<![\w-])-p(?P<v>"[^"\n]+"|'[^'\n]+'|[^\s"';|&]+)"""
)
_SSHPASS = re.compile(r"\bsshpass\s+-p\s*(?P<v>[^\s]+)")
_FLAG = re.compile(r"(?<![\w-])--(?P<key>[A-Za-z][\w-]*)[ \t]+(?P<v>[^\s\-\"'][^\s\"']*)")
_DSN = re.compile(r"""\b[A-Za-z][\w+.-]*://[^\s:/@'"<>]*:(?P<v>[^\s'"<>?#]+)@(?=[\w\[])""")
_DSN_PREVIEW = re.compile(
    r"""\b[A-Za-z][\w+.-]*://[^\s:/@'"<>]*:(?P<v>[^\s'"<>?#;|&$`(){}\\@]+)@(?=[\w\[])"""
)
# Linear scans (core/redaction/scan.py). A scheme ends where its run of [\w+.-] ends (`:`
# follows), so a later start in the run reads the same rest; a later `mysql` on a line has
# fewer `-p` to choose from. A URL password lies in one blank-free token, before its last `@`.
_DSN_START = re.compile(r"\b[A-Za-z]")
_SCHEME_RUN_END = until(re.compile(r"[^\w+.-]"))
_MYSQL_START = re.compile(r"\b(?:mysql|mariadb)")
_LINE_END = until(re.compile(r"\n"))
_TOKEN = re.compile(r"\S+")


def _dsn_matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    if "@" not in text:
        return
    for token in _TOKEN.finditer(text):
        last_at = _last_host_at(text, token.start(), token.end())
        if last_at > token.start():
            yield from runs_finditer(
                pattern, text, _DSN_START, _SCHEME_RUN_END, token.start(), last_at + 2
            )


def _last_host_at(text: str, start: int, end: int) -> int:
    """The last `@` in text[start:end] that a host name (or an IPv6 `[`) follows, else -1."""
    at = end
    while (at := text.rfind("@", start, at)) >= 0:
        if at + 1 < end and (text[at + 1].isalnum() or text[at + 1] in "_["):
            return at
    return -1


_XML = re.compile(r"<(?P<tag>[\w:.-]+)(?:\s[^<>]*)?>(?P<v>[^<\n]+)</(?P=tag)>")
_TABLE = re.compile(r"\|[ \t]*(?P<key>[A-Za-z][\w.-]*)[ \t]*\|[ \t]*(?P<v>[^|\s]+)[ \t]*(?=\|)")


def _pair_hits(text: str, preview: bool) -> Iterator[Hit]:
    pos, runs = 0, Runs(text)
    while pair := find_pair(text, pos, runs):
        key, value = text[pair.key_start : pair.key_end], text[pair.start : pair.end]
        bare, end = pair.group == "bare", pair.end
        code = bare and text[end : end + 1] in ("(", "[")
        # `https://host/...` (a scheme, no key), or `source: https://...` (a URL as the value:
        # its own secrets, a password or a credential query parameter, are pairs of their own)
        url = bare and (
            value.startswith("//")
            or (bool(_URL.match(value)) and not credential_key(key) and not _secret_path(value))
        )
        host = bare and _host_and_port(text, pair, key, value)
        # in a long run (`a=a=a=...`) most values cannot be random; the run tells at once
        hopeless = bare and not _judged_as_credential(key) and runs.never_random(pair.start)
        keep = not code and not url and not host and not hopeless and _judge(key, value, not bare)
        if keep and not (preview and _ACTIVE.search(value)):
            yield Hit(pair.start, end, "secret_value")
            pos = pair.match_end
        else:
            pos = pair.key_end + 1  # a value that is no secret may hold pairs (nested JSON)


def _judged_as_credential(key: str) -> bool:
    """Whether `_judge` reads a value under `key` by more than `random_looking`."""
    return key.lower().endswith(("-data", "_data")) or credential_key(key)


_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_URL = re.compile(r"[A-Za-z][\w+.-]*://")


def _secret_path(url: str) -> bool:
    """A URL whose path holds a random-looking segment (a webhook's secret path)."""
    path = url.split("://", 1)[1].split("?", 1)[0].split("#", 1)[0]
    return any(_token_like(segment) for segment in path.split("/")[1:])


def _token_like(segment: str) -> bool:
    classes = sum(bool(re.search(rx, segment)) for rx in ("[a-z]", "[A-Z]", "[0-9]"))
    return len(segment) >= 20 and classes == 3 and entropy(segment) >= 4.2


_PORT_AND_PATH = re.compile(r"\d{1,5}(?:[/?#]|\Z)")


def _host_and_port(text: str, pair: Pair, key: str, value: str) -> bool:
    """`host:port/path?query` (a URL's authority, with or without its scheme) is no pair: the
    key is a host and the value a port and a path. A URL's password has its own rule (_DSN)."""
    if text[pair.key_end : pair.start].strip() != ":":
        return False
    after_scheme = text[max(0, pair.key_start - 2) : pair.key_start] == "//"
    return after_scheme or (not credential_key(key) and bool(_PORT_AND_PATH.match(value)))


def _judge(key: str, value: str, quoted: bool) -> bool:
    if key.lower().endswith(("-data", "_data")) and _BASE64_VALUE.match(value):
        return True  # kubeconfig client-key-data, client-certificate-data, ...
    if credential_key(key):
        if not quoted and value.startswith("//"):
            return False  # `password=http://...` is a URL, whose password has its own rule
        return secret_value(key, value)
    # a URL-encoded query value (a PromQL expression in a generator URL) is judged as decoded
    return random_looking(key, unquote_plus(value) if _PERCENT.search(value) else value)


def _hidden_code(value: str, preview: bool) -> bool:
    """In a preview, masking `value` could hide something that runs."""
    return preview and bool(_ACTIVE.search(value))


def _decodes_to_credentials(value: str) -> bool:
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded and decoded.isascii()


def _simple(matches: Iterable[re.Match[str]], kind: str, preview: bool) -> Iterator[Hit]:
    for match in matches:
        value = match.group("v").strip("\"'")
        if secret_value("password", value) and not (preview and _ACTIVE.search(value)):
            start = match.start("v") + (1 if match.group("v")[:1] in "\"'" else 0)
            yield Hit(start, start + len(value), kind)


_NETRC_HOST = re.compile(  # a host name with a dot (or localhost), then netrc's own tokens
    r"\b(?:machine\s+(?:[\w-]+\.[\w.-]+|localhost)|default)\s+(?:login|password|account|port)\b"
)
_NETRC_SECRET = re.compile(r"\b(?:password|account)[ \t]+(?P<v>[^\s]+)")
_SENSITIVE_OBJECT = re.compile(r'\{[^{}]*"sensitive"\s*:\s*true[^{}]*\}')
_JSON_VALUE = re.compile(r'"value"\s*:\s*"(?P<v>(?:[^"\\\n]|\\.)*)"')


def netrc_and_state_hits(text: str) -> Iterator[Hit]:
    """`.netrc` passwords (`machine h login u password p`, on one line or several) and the
    values Terraform state marks `"sensitive": true`."""
    if _NETRC_HOST.search(text):
        for match in _NETRC_SECRET.finditer(text):
            if secret_value("password", match.group("v")):
                yield Hit(match.start("v"), match.end("v"), "password")
    if '"sensitive"' in text:
        for block in _SENSITIVE_OBJECT.finditer(text):
            for value in _JSON_VALUE.finditer(block.group(0)):
                start = block.start() + value.start("v")
                if value.group("v"):
                    yield Hit(start, start + len(value.group("v")), "sensitive_value")


def keyed_hits(text: str, preview: bool = False) -> Iterator[Hit]:
    """Values that their surroundings mark as credentials; `preview` keeps every active char."""
    yield from _pair_hits(text, preview)
    if not preview:
        yield from netrc_and_state_hits(text)
    for match in _AUTH.finditer(text):
        group = "token" if match.group("token") is not None else "rest"
        if not (preview and _ACTIVE.search(match.group(group))):
            yield Hit(match.start(group), match.end(group), "authorization")
    for match in _BEARER.finditer(text):
        yield Hit(match.start("v"), match.end("v"), "bearer")
    for match in _BASIC.finditer(text):
        if _decodes_to_credentials(match.group("v")):
            yield Hit(match.start("v"), match.end("v"), "basic_auth")
    for match in _COOKIE.finditer(text):
        offset = match.start("rest")
        for number, pair in enumerate(_COOKIE_PAIR.finditer(match.group("rest"))):
            if match.group("set") and number > 0:
                break  # Set-Cookie: the rest are attributes (Path=/, Max-Age=...)
            if secret_value("cookie", pair.group("v")):
                yield Hit(offset + pair.start("v"), offset + pair.end("v"), "cookie")
    yield from _simple(_CURL_USER.finditer(text), "password", preview)
    mysql = runs_finditer(_MYSQL_P, text, _MYSQL_START, _LINE_END)
    yield from _simple(mysql, "password", preview)
    yield from _simple(_SSHPASS.finditer(text), "password", preview)
    for match in _FLAG.finditer(text):
        value = match.group("v")
        key = match.group("key")
        if credential_key(key) and secret_value(key, value) and not _hidden_code(value, preview):
            yield Hit(match.start("v"), match.end("v"), "secret_value")
    yield from _simple(
        _dsn_matches(_DSN_PREVIEW if preview else _DSN, text), "url_password", preview
    )
    for pattern in (_XML, _TABLE):
        for match in pattern.finditer(text):
            key = match.group("tag" if pattern is _XML else "key")
            value = match.group("v")
            if _judge(key, value.strip(), True) and not _hidden_code(value, preview):
                yield Hit(match.start("v"), match.end("v"), "secret_value")
