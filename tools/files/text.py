"""A workspace file's bytes as text: leniently for reading, exactly for writing back.

Reading shows what it can (undecodable bytes as U+FFFD). Writing never changes a byte nobody
edited: a file that is not UTF-8 is refused (its U+FFFD would be written back in place of the
original bytes), and a file whose lines all end in CRLF keeps them (the model sees lines
through read_file, without their `\\r`, and writes `\\n`).
"""

from __future__ import annotations

from tools.base import ToolError

BINARY_PROBE = 8192  # a NUL within the first 8 KiB marks a binary file (as git and grep do)


def _refuse_binary(raw: bytes, shown: str) -> None:
    if b"\x00" in raw[:BINARY_PROBE]:
        raise ToolError(f"{shown!r} looks binary")


def text_for_reading(raw: bytes, shown: str) -> str:
    """The text of a file for reading (undecodable bytes become U+FFFD); `ToolError` when
    the file looks binary."""
    _refuse_binary(raw, shown)
    return raw.decode("utf-8", errors="replace")


def not_utf8_note(raw: bytes) -> str | None:
    """What read_file tells the model about a file that is not valid UTF-8, else None."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}): such bytes "
            "are shown as U+FFFD, and edit_file and write_file refuse this file"
        )
    return None


def text_for_writing(raw: bytes, shown: str) -> str:
    """The exact text of a file that is about to be changed.

    Raises `ToolError` when the file looks binary or is not valid UTF-8: writing it back
    would replace bytes nobody edited.
    """
    _refuse_binary(raw, shown)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolError(
            f"{shown!r} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}): "
            "edit_file and write_file write UTF-8 only, which would change bytes nobody "
            "edited, so it is not changed"
        ) from None


def ends_lines_with_crlf(text: str) -> bool:
    """True when the text has line ends and every one is CRLF."""
    return "\n" in text and text.count("\r\n") == text.count("\n")


def lf_lines(text: str) -> str:
    """CRLF line ends as LF (what the model sees and writes)."""
    return text.replace("\r\n", "\n")


def crlf_lines(text: str) -> str:
    """LF line ends as CRLF; `crlf_lines(lf_lines(t)) == t` whenever `ends_lines_with_crlf(t)`."""
    return lf_lines(text).replace("\n", "\r\n")


def in_files_line_ends(before: str, content: str) -> str:
    """New content for a file that held `before`: LF line ends become CRLF when every line of
    the file ended in CRLF and the content has no CRLF of its own; otherwise as given."""
    if ends_lines_with_crlf(before) and "\r\n" not in content:
        return crlf_lines(content)
    return content


def text_lines(text: str) -> list[str]:
    """The lines of a text as git, grep and editors count them: split at `\\n` only, a `\\r`
    before it dropped (str.splitlines would also split at form feeds, `\\x1c`-`\\x1e`, NEL
    and U+2028/U+2029, so line numbers and the lines the model copies would not match the
    file)."""
    return [line.removesuffix("\n").removesuffix("\r") for line in lines_with_ends(text)]


def lines_with_ends(text: str) -> list[str]:
    """The text cut after each `\\n` (the last piece without one when the text does not end
    in `\\n`); joined, they are the text again."""
    lines = text.split("\n")
    with_ends = [line + "\n" for line in lines[:-1]]
    return [*with_ends, lines[-1]] if lines[-1] else with_ends
