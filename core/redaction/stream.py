"""StreamRedactor: redacts text that arrives in pieces, across the piece boundaries.

Text is shown up to the last point where nothing after it can change what came before: a
word is never cut, a credential key waits for its value, an open quote after a credential
key waits for its close, a private key block waits for its END line, and a line ending in a
long token waits for the next line (a wrapped JWT or base64 body). What is shown is redacted
as it reads after the text already shown, so a key in one piece hides the value in the next.
At most `max_hold` characters are held; beyond that the text is shown, redacted as it stands.
"""

from __future__ import annotations

import re

from core.redaction.redactor import Redactor

_OPENER = re.compile(  # a credential key, scheme or flag on the line, right before the cut
    r"""(?ix)(?:
      (?<![\w.])(?<!\\\\)\\*["']?[\w.-]*(?:pass|pwd|secret|token|key|auth|cookie|session|credential|
        sig|dsn|-data|_data)[\w.-]*\\*["']?[ \t]*(?:=>|:=|[:=])[ \t]*\\*["']?
      |\b(?:basic|bearer|token|digest|authorization:|cookie:)[ \t]+
      |(?<![\w-])(?:-u|-p|--user|--password|--token|--[\w-]*(?:key|secret|token))[ \t=]*
    )$"""
)
_DATA_OPENER = re.compile(r"(?i)\b(?:data|stringData):[ \t]*\r?\n")  # a Secret's data, any line
_OPENER_SEPARATORS = " \t=:>\"'\\"
_OPENER_QUOTES = "\"'\\"
# Each pattern that ends in `$` and opens with a repeated class starts only where a run of that
# class starts: tried from every position inside a long run, it is quadratic in the held text.
_OPEN_QUOTE = re.compile(
    r"""(?i)(?<![\w.-])[\w.-]*(?:pass|pwd|secret|token|key|auth|cookie|session|credential)"""
    r"""[\w.-]*\\*["']?"""
    r"""[ \t]*[:=][ \t]*\\*(?P<q>["'])[^"'\n]*$"""
)
_MARKER_LINE = re.compile(r"-----BEGIN [A-Z0-9 ]*-----\r?$")
_END = re.compile(r"-----END [A-Z0-9 ]*-----")
_BODY_LINE = re.compile(r"[ \t]*(?:[A-Za-z0-9+/]*={0,2}|=[A-Za-z0-9+/]{4}|[A-Za-z-]+:.*)\r?")
_LONG_TOKEN_AT_LINE_END = re.compile(
    r"(?<![A-Za-z0-9_+/=.-])[A-Za-z0-9_+/=.-]{16,}\r?\n[A-Za-z0-9_+/=.-]*$"
)
_CONTEXT = 2048
# Each show reads the context again (up to _CONTEXT characters): a show is made only once the
# text fed since the last one pays for that reading at this many characters read per
# character fed, so a stream of tiny pieces costs a bounded multiple of its length (6,000
# four-character pieces of prose each read 2 KB: 5 s) while the first pieces, with little
# context, are still shown at once.
_WORK_PER_CHAR = 8
_WORD_END = re.compile(r"\s")


def _open_key_block(text: str) -> int | None:
    """Where a private key block that may still go on starts (its line), else None."""
    begin = text.rfind("-----BEGIN")
    if begin < 0 or _END.search(text, begin):
        return None
    line_start = text.rfind("\n", 0, begin) + 1
    lines = text[begin:].split("\n")
    if len(lines) > 1 and not _MARKER_LINE.match(lines[0]):
        return None  # text after the marker on its line: no key body can follow
    if any(not _BODY_LINE.fullmatch(line) for line in lines[1:-1]):
        return None  # a line that is no key material ended the body
    return line_start


class StreamRedactor:
    """Redacts streamed text across piece boundaries, holding back only what could still
    turn out to be a secret."""

    def __init__(self, redactor: Redactor, max_hold: int = 8192) -> None:
        self._redactor = redactor
        self._pending = ""
        self._shown = ""  # the raw tail already shown, the context of what comes next
        self._grown = 0  # characters added since the held text was last read
        self._ended = False  # a piece ended a word since the held text was last read
        self._credit = 0  # characters a show may read (see _WORK_PER_CHAR)
        self.max_hold = max_hold

    def feed(self, piece: str) -> str:
        """Add a piece; return the redacted text that is safe to show now (may be empty).

        The held text is read again only when the piece ends a word (nothing can be shown
        inside a word, and what the last reading held back stays held until one ends) and,
        when much is held, once it has grown by an eighth: each feed costs time in the
        piece's length, not in what is held (a 24,000-character dump without a space took
        seconds per thousand pieces). A show also waits until the text fed since the last one
        pays for reading the context again (_WORK_PER_CHAR)."""
        held = len(self._pending)
        self._pending += piece
        self._grown += len(piece)
        self._credit += len(piece) * _WORK_PER_CHAR
        self._ended = self._ended or bool(_WORD_END.search(piece))
        affordable = self._credit >= len(self._shown) + len(self._pending)
        cut = 0
        if self._ended and affordable and self._grown * 8 >= held:
            cut, self._grown, self._ended = self._safe_cut(self._pending), 0, False
        if len(self._pending) - cut > self.max_hold:
            cut, self._grown = len(self._pending) - self.max_hold // 2, 0
        return self._show(cut)

    def flush(self) -> str:
        """Return whatever is still held back, redacted."""
        return self._show(len(self._pending))

    def _show(self, cut: int) -> str:
        if cut <= 0:
            return ""
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        self._credit = max(0, self._credit - len(self._shown) - len(ready))
        out = self._redactor.redact_after(self._shown, ready)
        self._shown = (self._shown + ready)[-_CONTEXT:]
        return out

    def _safe_cut(self, text: str) -> int:
        cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t")) + 1
        if (block := _open_key_block(text)) is not None:
            cut = min(cut, block)
        if token := _LONG_TOKEN_AT_LINE_END.search(text):
            cut = min(cut, token.start())
        if quote := _OPEN_QUOTE.search(text):
            cut = min(cut, quote.start())
        # A credential key (or a Secret's `data:` header) just before the cut waits for more.
        while cut > 0 and (start := _opener_start(text, cut)) is not None:
            if start == cut:
                break
            cut = start
        return cut


def _opener_start(text: str, cut: int) -> int | None:
    """Where the leftmost opener ending at `cut` starts (searched from 4,096 characters back).

    A one-line opener is separators and quotes after a key's run of word characters, so it
    starts no earlier than the run: searched only from there, not from each of 4,096 places
    (held text of `authorization: ` over and over took seconds per cut)."""
    low = max(0, cut - 4096)
    start = cut - 1 if cut > low and text[cut - 1] == "\n" else cut  # `$` matches before it
    while start > low and text[start - 1] in _OPENER_SEPARATORS:
        start -= 1
    while start > low and (text[start - 1].isalnum() or text[start - 1] in "_.-"):
        start -= 1
    while start > low and text[start - 1] in _OPENER_QUOTES:
        start -= 1
    data = _DATA_OPENER.search(text, low, cut)
    if data is not None and data.start() < start:
        return data.start()
    line = _OPENER.search(text, start, cut)
    if data is not None and (line is None or data.start() <= line.start()):
        return data.start()
    return line.start() if line is not None else None
