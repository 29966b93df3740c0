"""Secrets that span lines: PEM and PGP private keys (also cut short), JWTs wrapped over lines,
the values of a Kubernetes Secret's `data:` / `stringData:` and PuTTY key bodies."""

from __future__ import annotations

import re
from collections.abc import Iterator

from core.redaction.hits import Hit
from core.redaction.judge import placeholder
from core.redaction.scan import runs_finditer

_NL = r"(?:\r?\n|\\(?:r\\)?n)"  # a line break, or one escaped in JSON (\n, \r\n)
_BODY_LINE = (
    r"[ \t]*(?:[A-Za-z0-9+/]+={0,2}|=[A-Za-z0-9+/]{4}"
    r"|(?:Proc-Type|DEK-Info|Version|Comment|Hash|Charset):[^\r\n\\]*|)"
    r"(?=\r?\n|\\(?:r\\)?n|[\"',]|$)"
)
_PEM = re.compile(
    rf"-----BEGIN (?P<label>[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----"
    rf"(?:(?P<body>(?:{_NL}{_BODY_LINE})*?){_NL}[ \t]*-----END (?P=label)-----"
    rf"|(?P<open>(?:{_NL}{_BODY_LINE})*))"
)
_TRAILING = re.compile(r"(?:\r?\n|\\(?:r\\)?n|[ \t])+$")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{16,}")
_PUTTY = re.compile(r"(?m)^Private-Lines: \d+\r?\n(?:[A-Za-z0-9+/=]+(?:\r?\n|$))+")
_JWT = re.compile(
    r"\beyJ[A-Za-z0-9_-]*(?:\r?\n[ \t]*[A-Za-z0-9_-]+)*\.(?:\r?\n[ \t]*)?"
    r"eyJ[A-Za-z0-9_-]*(?:\r?\n[ \t]*[A-Za-z0-9_-]+)*\.(?:\r?\n[ \t]*)?(?P<sig>[A-Za-z0-9_-]{8,})"
)
# A JWT's header runs to the end of its (wrapped) first part, and a `.` must follow: a later
# `eyJ` inside that part reads the same rest, so one failed start stands for all of them.
_JWT_START = re.compile(r"\beyJ")
_JWT_HEADER = re.compile(r"eyJ[A-Za-z0-9_-]*(?:\r?\n[ \t]*[A-Za-z0-9_-]+)*")


def _past_header(text: str, start: int) -> int:
    header = _JWT_HEADER.match(text, start)
    return header.end() if header else start + 1


_JWT_NEXT_LINE = re.compile(r"\r?\n[ \t]*(?P<part>[A-Za-z0-9_-]+)(?=\r?\n|$)")
_SMALLEST_SIGNATURE = 43  # HS256, base64url
_DATA_HEADER = re.compile(r"(?m)^(?P<indent>[ \t]*)(?P<name>data|stringData|binaryData):[ \t]*\r?$")
_DATA_ITEM = re.compile(r"^(?P<indent>[ \t]+)[\"']?[^:\s\"']+[\"']?:[ \t]*(?P<v>\S.*?)[ \t]*\r?$")
_JSON_DATA = re.compile(r'"(?P<name>data|stringData)"\s*:\s*\{(?P<body>[^{}]*)\}')
_JSON_ITEM = re.compile(r'"[^"\n]+"\s*:\s*"(?P<v>[^"\n]*)"')
_SECRET_KIND = re.compile(r"""kind["']?\s*:\s*["']?Secret\b""")
_K8S_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")


def pem_hits(text: str, preview: bool = False) -> Iterator[Hit]:
    """Private key blocks; one cut short is hidden to the end of its base64 body.

    Between BEGIN and END only key material (base64, PEM headers) is taken, so lines of any
    other kind between two markers stay visible. `preview` takes only whole, valid blocks.
    """
    for match in _PEM.finditer(text):
        complete = match.group("open") is None
        body = match.group("body") if complete else match.group("open")
        if len("".join(_BASE64_RUN.findall(body or ""))) < 16:
            continue  # markers with no key material between them: nothing secret
        if preview and not complete:
            continue
        end = match.end() if complete else match.start("open") + len(_TRAILING.sub("", body))
        yield Hit(match.start(), end, "private_key")
    if not preview:
        for match in _PUTTY.finditer(text):
            yield Hit(match.start(), match.end(), "private_key")


def jwt_hits(text: str, single_line_only: bool = False) -> Iterator[Hit]:
    """JSON Web Tokens, also when wrapped over several lines."""
    for match in runs_finditer(_JWT, text, _JWT_START, _past_header):
        end, signature = match.end(), len(match.group("sig"))
        while signature < _SMALLEST_SIGNATURE and (more := _JWT_NEXT_LINE.match(text, end)):
            end, signature = more.end(), signature + len(more.group("part"))
        if single_line_only and "\n" in text[match.start() : end]:
            continue
        yield Hit(match.start(), end, "jwt")


def _data_value(name: str, value: str, is_secret: bool) -> bool:
    value = value.strip("\"'")
    if not value or placeholder(value):
        return False
    if name == "stringData" or is_secret:
        return True
    return len(value) >= 8 and bool(_K8S_BASE64.match(value))  # ConfigMap text stays visible


def kubernetes_hits(text: str) -> Iterator[Hit]:
    """Every value under a Secret's `data:` / `stringData:` (YAML and JSON forms)."""
    if "ata" not in text:
        return
    is_secret = bool(_SECRET_KIND.search(text))
    for header in _DATA_HEADER.finditer(text):
        depth, pos, block_indent = len(header.group("indent")), header.end(), -1
        for line in text[header.end() :].split("\n")[1:]:
            line_start, pos = pos + 1, pos + 1 + len(line)
            indent = len(line) - len(line.lstrip(" \t"))
            if not line.strip():
                continue
            if indent <= depth:
                break
            if block_indent >= 0 and indent > block_indent:  # a `|` block's lines
                yield Hit(line_start + indent, pos, "kubernetes_secret")
                continue
            item = _DATA_ITEM.match(line)
            if item is None:
                continue
            value = item.group("v")
            block_indent = len(item.group("indent")) if value in ("|", ">", "|-", ">-") else -1
            if block_indent < 0 and _data_value(header.group("name"), value, is_secret):
                yield Hit(
                    line_start + item.start("v"), line_start + item.end("v"), "kubernetes_secret"
                )
    for block in _JSON_DATA.finditer(text):
        for item in _JSON_ITEM.finditer(block.group("body")):
            if _data_value(block.group("name"), item.group("v"), is_secret):
                offset = block.start("body")
                yield Hit(offset + item.start("v"), offset + item.end("v"), "kubernetes_secret")
