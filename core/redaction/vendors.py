"""Vendor key shapes: detect-secrets' plugin patterns plus the few shapes it lacks.

detect-secrets (Yelp, maintained) keeps the list of vendor formats current; its patterns are
reused directly. Its `scan_line` is not: measured on this machine it takes about 1 ms per line
(it runs every plugin, its keyword and entropy heuristics and its filters) and reports most
ordinary log lines as secrets, while the compiled patterns cost about 1 µs per line each.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

from core.redaction.hits import Hit
from core.redaction.scan import Skip, runs_finditer, until

_TOKEN_CHAR = re.compile(r"[A-Za-z0-9_\-+/=.]")
_DETECT_SECRETS: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...] = (
    ("aws_key", (AWSKeyDetector.denylist[0],)),  # the others are keyword heuristics
    ("azure_key", tuple(AzureStorageKeyDetector.denylist)),
    ("discord_token", tuple(DiscordBotTokenDetector.denylist)),
    ("github_token", tuple(GitHubTokenDetector.denylist)),
    ("gitlab_token", tuple(GitLabTokenDetector.denylist)),
    ("mailchimp_key", tuple(MailchimpDetector.denylist)),
    ("npm_token", tuple(NpmDetector.denylist)),
    ("openai_key", tuple(OpenAIDetector.denylist)),
    ("pypi_token", tuple(PypiTokenDetector.denylist)),
    ("sendgrid_key", tuple(SendGridDetector.denylist)),
    ("slack_token", tuple(SlackDetector.denylist)),
    ("square_secret", tuple(SquareOAuthDetector.denylist)),
    ("stripe_key", tuple(StripeDetector.denylist)),
    ("telegram_token", tuple(TelegramBotTokenDetector.denylist)),
    ("twilio_key", tuple(TwilioKeyDetector.denylist)),
)
_OWN = (  # shapes detect-secrets 1.5 lacks or matches too narrowly
    ("aws_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("slack_token", r"\bxox[abposr]-[0-9A-Za-z-]{10,}"),
    ("slack_app_token", r"\bxapp-[0-9A-Za-z-]{10,}"),
    ("github_token", r"\b(?:gh[pousr]_[0-9A-Za-z]{30,}|github_pat_[0-9A-Za-z_]{40,})"),
    ("anthropic_key", r"\bsk-ant-[0-9A-Za-z_-]{20,}"),
    ("openai_key", r"\bsk-(?:proj-|svcacct-)?[0-9A-Za-z_-]{32,}"),
    ("stripe_key", r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}|\bwhsec_[0-9A-Za-z]{24,}"),
    ("npm_token", r"\bnpm_[0-9A-Za-z]{36}\b"),
    ("google_key", r"\bAIza[0-9A-Za-z_-]{35}"),
    ("twilio_key", r"\b(?:SK|AC)[0-9a-fA-F]{32}\b"),
    ("azure_key", r"(?i)(?<=AccountKey=)[A-Za-z0-9+/]{20,}={0,2}"),
    ("azure_key", r"(?i)(?<=SharedAccessKey=)[A-Za-z0-9+/]{20,}={0,2}"),
    ("azure_sas", r"(?<=[?&]sig=)[A-Za-z0-9%+/]{20,}={0,2}"),
    ("vault_token", r"\bhv[sbr]\.[A-Za-z0-9_-]{24,}"),
    ("age_key", r"\bAGE-SECRET-KEY-1[0-9A-Z]{58}\b"),
    ("gcp_key", r"\bGOCSPX-[0-9A-Za-z_-]{28}"),
    ("datadog_key", r"(?i)(?<=dd_api_key=)[0-9a-f]{32}\b"),
)
VENDOR_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    *((kind, pattern) for kind, patterns in _DETECT_SECRETS for pattern in patterns),
    *((kind, re.compile(rx)) for kind, rx in _OWN),
)
# Quick gate: a text without any of these substrings holds no vendor key (most log lines).
_GATE = re.compile(
    r"AKIA|ASIA|A3T|ABIA|ACCA|AccountKey|SharedAccess|sig=|[MNO][\w-]{23}\.|gh[pousr]_|github_pat"
    r"|gl\w{1,6}-|GR1348941|-us\d|npm_|_authToken|sk-|T3BlbkFJ|pypi-|SG\.|xox|xapp|hooks\.slack"
    r"|sq0csp|_live_|_test_|whsec_|\d{8}:|SK|AC|AIza|hv[sbr]\.|AGE-SECRET|GOCSPX|dd_api_key",
    re.IGNORECASE,
)


def _extend(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow a match to the whole token, so a pattern matching a prefix hides the rest too."""
    while end < len(text) and _TOKEN_CHAR.match(text[end]) and text[end] != ".":
        end += 1
    return start, end


# detect-secrets patterns that open with a repeated class (core/redaction/scan.py): a later
# `sk-` in a run of key characters has fewer ways to reach `T3BlbkFJ`, a later `//` on a line
# fewer ways to reach `/:_authToken=`; one failed start stands for all of them.
_RUN_STARTS: dict[str, tuple[re.Pattern[str], Skip]] = {
    OpenAIDetector.denylist[0].pattern: (re.compile("sk-"), until(re.compile("[^A-Za-z0-9_-]"))),
    NpmDetector.denylist[0].pattern: (re.compile("//"), until(re.compile(r"\n"))),
}


def _matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    if pattern.pattern in _RUN_STARTS:
        return runs_finditer(pattern, text, *_RUN_STARTS[pattern.pattern])
    return pattern.finditer(text)


def vendor_hits(text: str, single_line_only: bool = False) -> Iterator[Hit]:
    """Every vendor-shaped key in `text` (Stripe, GitLab, npm, Slack, SendGrid, Twilio, ...)."""
    if not _GATE.search(text):
        return
    for kind, pattern in VENDOR_PATTERNS:
        for match in _matches(pattern, text):
            group = 1 if kind == "npm_token" and pattern.groups else 0
            start, end = _extend(text, *match.span(group))
            value = text[start:end]
            if single_line_only and "\n" in value:
                continue
            yield Hit(start, end, kind)
