"""Red-team rows B6 (streaming across piece boundaries) and B8 (memory bounded, per run)."""

from __future__ import annotations

import pytest

from core.redact import Redactor, StreamRedactor

PEM_LINES = [
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw",
    "7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFc",
    "zGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE",
]


def streamed(pieces: list[str], redactor: Redactor | None = None) -> tuple[str, list[str]]:
    stream = StreamRedactor(redactor or Redactor())
    shown = [stream.feed(piece) for piece in pieces] + [stream.flush()]
    return "".join(shown), shown


def test_b6_a_key_in_one_piece_and_its_value_in_the_next() -> None:
    text, _ = streamed(["The new value is password: ", "hunter2hunter2", " (rotated)\n"])
    assert "hunter2hunter2" not in text
    assert text == "The new value is password: [REDACTED:secret_value:1] (rotated)\n"


@pytest.mark.parametrize(
    ("pieces", "secret"),
    [
        (['{"api', 'Key": "', "abcd1234", 'efgh5678"} ok\n'], "abcd1234"),
        (['export DB_PASSWORD="hunter2 ', 'with space"\n'], "hunter2"),
        (["Authorization: Basic ", "YWRtaW46aHVudGVyMg==", "\n"], "YWRtaW46aHVudGVyMg=="),
        (["stripe sk_live_51HxYzAbCd", "EfGhIjKlMnOpQr and more\n"], "sk_live_51HxYzAbCd"),
        (["curl -u ", "admin:", "Tr0ub4dor9 https://x\n"], "Tr0ub4dor9"),
        (
            ["kind: Secret\ndata:\n", "  tls.key: LS0tLS1CRUdJTiBQUklW", "QVRFIEtFWS0tLS0t\n"],
            "LS0t",
        ),
    ],
)
def test_b6_values_split_anywhere_never_show(pieces: list[str], secret: str) -> None:
    text, _ = streamed(pieces)
    assert secret not in text


def test_b6_a_private_key_over_many_pieces_and_a_wrapped_jwt() -> None:
    block = (
        "-----BEGIN RSA PRIVATE KEY-----\n"
        + "\n".join(PEM_LINES)
        + "\n-----END RSA PRIVATE KEY-----\n"
    )
    pieces = [block[i : i + 7] for i in range(0, len(block), 7)] + ["done\n"]
    text, _ = streamed(pieces)
    assert not any(line[:20] in text for line in PEM_LINES)
    assert text == "[REDACTED:private_key:1]\ndone\n"
    jwt = (
        "eyJhbGciOiJIUzI1NiJ9.\neyJzdWIiOiIxMjM0NTY3ODkwIn0.\n"
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\n"
    )
    text, _ = streamed([jwt[i : i + 5] for i in range(0, len(jwt), 5)])
    assert "SflKxwRJ" not in text
    assert "eyJzdWIi" not in text


def test_b6_plain_prose_is_shown_promptly() -> None:
    _, shown = streamed(["The pod ", "restarted ", "three times ", "because the liveness probe"])
    assert shown[:3] == ["The pod ", "restarted ", "three times "]


def test_b6_a_key_body_cut_short_in_a_stream_is_still_hidden() -> None:
    pieces = ["-----BEGIN OPENSSH PRIVATE KEY-----\n", *(line + "\n" for line in PEM_LINES),
              "[output truncated]\n"]  # fmt: skip
    text, _ = streamed(pieces)
    assert not any(line[:20] in text for line in PEM_LINES)
    assert text.endswith("[output truncated]\n")


def test_b6_held_text_is_bounded() -> None:
    stream = StreamRedactor(Redactor(), max_hold=1024)
    shown = stream.feed("x" * 5000)
    assert len(shown) >= 5000 - 1024


def test_b8_each_run_has_its_own_memory() -> None:
    process = Redactor(own_secrets=("xoxb-own-bot-token-123",))
    first, second = process.for_run(), process.for_run()
    first.redact("db_pass=hunter2hunter2")
    assert first.redact("quoted: hunter2hunter2") == "quoted: [REDACTED:secret_value:1]"
    assert second.redact("quoted: hunter2hunter2") == "quoted: hunter2hunter2"
    assert process.redact("quoted: hunter2hunter2") == "quoted: hunter2hunter2"
    assert second.redact("token xoxb-own-bot-token-123") == "token [REDACTED:own_secret:1]"


def test_b8_memory_is_bounded_least_recently_used_first() -> None:
    redactor = Redactor(memory_size=3)
    for n in range(5):
        redactor.redact(f"password=Secret{n}Value!")
    assert (
        redactor.redact("Secret0Value! Secret4Value!") == "Secret0Value! [REDACTED:secret_value:5]"
    )


def test_b8_extra_patterns_carry_into_a_run() -> None:
    run = Redactor(extra_patterns=[("ticket", r"INC-\d{6}")]).for_run()
    assert run.redact("see INC-123456") == "see [REDACTED:ticket:1]"
