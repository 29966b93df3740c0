"""Property tests: a generated secret embedded in random text never survives redaction; paths
the tools resolve never leave the workspace."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.redact import Redactor, StreamRedactor
from tools.base import ToolError
from tools.workspace import resolve_inside

ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits


def fixed(alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=size, max_size=size)


SECRETS = st.one_of(
    st.builds(lambda s: "AKIA" + s, fixed(UPPER, 16)),
    st.builds(
        lambda k, a, b: f"xox{k}-{a}-{b}",
        st.sampled_from("abpors"), fixed(string.digits, 12), fixed(ALNUM, 24),
    ),
    st.builds(lambda s: "xapp-1-" + s, fixed(ALNUM, 30)),
    st.builds(lambda s: "ghp_" + s, fixed(ALNUM, 36)),
    st.builds(lambda s: "sk-ant-api03-" + s, fixed(ALNUM + "-_", 48)),
    st.builds(lambda s: "sk-proj-" + s, fixed(ALNUM, 40)),
    st.builds(
        lambda a, b, c: f"eyJ{a}.eyJ{b}.{c}",
        fixed(ALNUM, 20), fixed(ALNUM, 30), fixed(ALNUM + "-_", 30),
    ),
)  # fmt: skip
FILLER = st.text(
    alphabet=string.ascii_letters + string.digits + " .,:;!?()[]{}'\"\n\t", max_size=80
)
SEPARATOR = st.sampled_from([" ", "\n", "\t", " (", ": ", "='", '"'])


@settings(max_examples=300, deadline=None)
@given(before=FILLER, secret=SECRETS, after=FILLER, left=SEPARATOR, right=SEPARATOR)
def test_a_generated_secret_never_survives(
    before: str, secret: str, after: str, left: str, right: str
) -> None:
    text = f"{before}{left}{secret}{right}{after}"
    assert secret not in Redactor().redact(text)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(["password", "secret", "token", "api_key"]),
    value=fixed(ALNUM + "!@#%^*", 12),
    url_password=fixed(ALNUM, 14),
    before=st.text(alphabet=ALNUM + " ", max_size=60),
)
def test_credential_pairs_and_url_passwords_never_survive(
    kind: str, value: str, url_password: str, before: str
) -> None:
    assume(value not in before and url_password not in before)  # a seen secret goes everywhere
    tail = f" {kind}={value} and postgres://app:{url_password}@db:5432/x\n"
    out = Redactor().redact(before + tail)
    assert out.startswith(before)
    redacted_tail = out[len(before) :]
    assert value not in redacted_tail
    assert url_password not in redacted_tail


@settings(max_examples=150, deadline=None)
@given(secret=SECRETS, cuts=st.lists(st.integers(min_value=1, max_value=12), max_size=20))
def test_a_secret_streamed_in_pieces_never_shows(secret: str, cuts: list[int]) -> None:
    text = f"the key is {secret} , keep it safe"
    pieces, at = [], 0
    for cut in cuts:
        pieces.append(text[at : at + cut])
        at += cut
    pieces.append(text[at:])
    stream = StreamRedactor(Redactor())
    shown = "".join(stream.feed(p) for p in pieces) + stream.flush()
    assert secret not in shown
    assert shown.startswith("the key is [REDACTED:")


def test_private_key_blocks_and_env_dumps() -> None:
    dump = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
        "-----END OPENSSH PRIVATE KEY-----\nHOME=/root\nSTRIPE_KEY=rk_live_51Hq8Xk2eZvKYlo2C\n"
        "SESSION=Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0\nVERSION=1.2.3\n"
    )
    out = Redactor().redact(dump)
    assert "b3BlbnNzaC1rZXktdjEAAAAA" not in out
    assert "rk_live_51Hq8Xk2eZvKYlo2C" not in out
    assert "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0" not in out
    assert "HOME=/root" in out
    assert "VERSION=1.2.3" in out


def test_credentials_named_inside_longer_names_never_survive() -> None:
    line = (
        "INFO boot env AWS_ACCESS_KEY_ID=AKIAQYLPMN5HHHFPZAM2 "
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYz8Qe2kLmNo db.password: s3cr3t-pw "
        "GITHUB_AUTH_TOKEN=abc123def456 max_tokens=4096 region=eu-west-1"
    )
    out = Redactor().redact(line)
    for secret in ("AKIAQYLPMN5HHHFPZAM2", "wJalrXUtnFEMI", "s3cr3t-pw", "abc123def456"):
        assert secret not in out
    assert "AWS_ACCESS_KEY_ID=[REDACTED:aws_key:1]" in out  # not redacted twice
    assert "max_tokens=4096 region=eu-west-1" in out


def test_a_secret_seen_once_is_redacted_when_quoted_later_in_prose() -> None:
    redactor = Redactor()
    redactor.redact("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYz8Qe2kLmNo")
    answer = "The secret access key `wJalrXUtnFEMI/K7MDENG/bPxRfiCYz8Qe2kLmNo` leaks."
    assert redactor.redact(answer) == "The secret access key `[REDACTED:secret_value:1]` leaks."


def test_extra_patterns_are_configurable() -> None:
    redactor = Redactor(extra_patterns=[("ticket", r"INC-\d{6}")])
    assert redactor.redact("see INC-123456") == "see [REDACTED:ticket:1]"


SEGMENTS = st.sampled_from(["..", ".", "a", "b", "link", "abs", "", "c.txt", "...", "a/../.."])


@pytest.fixture(scope="module")
def jail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("jail")
    workspace = root / "ws"
    (workspace / "a" / "b").mkdir(parents=True)
    (workspace / "a" / "c.txt").write_text("inside")
    (root / "outside.txt").write_text("outside")
    (workspace / "link").symlink_to(root)
    (workspace / "abs").symlink_to("/etc")
    return workspace


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(SEGMENTS, max_size=6), absolute=st.booleans())
def test_resolved_paths_never_leave_the_workspace(
    jail: Path, parts: list[str], absolute: bool
) -> None:
    path = "/".join(parts)
    if absolute:
        path = "/" + path
    try:
        target = resolve_inside(jail, path, must_exist=False)
    except ToolError:
        return
    root = jail.resolve()
    assert target == root or root in target.parents
