"""Knowing a prompt's size before the call, and clearing old tool results near the budget.

Before each agent call the run knows the prompt's size: a calibrated estimate (the previous
call's real `usage.prompt_tokens` for that request's characters, applied to this request's
characters: the previous count plus what was appended since, at the same ratio), or, where the
endpoint counts tokens (OPSBOT_MODEL_FEATURES `token-counting`), `POST
/v1/messages/count_tokens` (https://docs.anthropic.com/en/api/messages-count-tokens) when the
estimate is close enough to the threshold that the estimate alone could decide wrongly.

Above `HIGH_SHARE` of the budget (OPSBOT_MAX_CONTEXT_TOKENS, or the model's window once a
"prompt is too long" answer told it), old tool results are cleared down to `LOW_SHARE`: a
margin, so the calls that follow keep their cached prefix instead of clearing again each time.
The newest results and the run's decisions stay (agents/context_trim.py).

Every decision here comes from step outputs (usage, counts, recorded errors) and the request's
own characters, so a DBOS replay takes the same path.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any

import anthropic

from agents.context_trim import CHARS_PER_TOKEN, trim_for_context
from agents.engine import Engine
from agents.llm import ModelRequest, count_arguments, scrubbed
from agents.model_client import model_features

HIGH_SHARE = 0.85
"""Clear old tool results when the prompt is over this share of the budget."""
LOW_SHARE = 0.6
"""... down to this share."""
COUNT_BAND = 0.15
"""Count tokens only when the estimate is within this share of the budget around the
threshold (counting every call would double the requests)."""
MAX_FIT_ATTEMPTS = 4
"""Trims in a row after "prompt is too long" answers before the run gives up on the call."""

log = logging.getLogger(__name__)


def _json_chars(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False))


def request_chars(request: ModelRequest) -> int:
    """Characters of the prompt's parts (system, messages, tools) as JSON."""
    return _json_chars({"system": request.system, "messages": request.messages,
                        "tools": request.tools})  # fmt: skip


@dataclass
class ContextBudget:
    """The context budget of one turn, and what the turn's calls taught about token sizes."""

    max_tokens: int
    """OPSBOT_MAX_CONTEXT_TOKENS."""
    tokens_per_char: float = 1 / CHARS_PER_TOKEN
    """Real tokens per character of the last measured request (a count or a call's usage)."""
    window: int | None = None
    """The model's own window, once an answer said it ("N tokens > M maximum")."""

    @property
    def limit(self) -> int:
        """The tokens a prompt may use: the budget, or the model's window when smaller."""
        return min(self.max_tokens, self.window) if self.window else self.max_tokens

    def learn(self, tokens: int, chars: int) -> None:
        """Calibrate with a measured request: `tokens` real tokens for `chars` characters."""
        if tokens > 0 and chars > 0:
            self.tokens_per_char = tokens / chars

    def estimate(self, chars: int) -> int:
        """Tokens of a request of `chars` characters, at the calibrated ratio."""
        return math.ceil(chars * self.tokens_per_char)

    def worth_counting(self, estimate: int) -> bool:
        """True when `estimate` is near enough to the threshold that a real count may decide."""
        return abs(estimate - HIGH_SHARE * self.limit) <= COUNT_BAND * self.limit

    def cleared(
        self, messages: list[dict[str, Any]], tokens: int, keep: frozenset[str]
    ) -> list[dict[str, Any]] | None:
        """`messages` with old tool results cleared when `tokens` is over the threshold
        (down to `LOW_SHARE` of the limit); None when under it or nothing can be cleared."""
        if tokens <= HIGH_SHARE * self.limit:
            return None
        return trim_for_context(
            messages, tokens, int(LOW_SHARE * self.limit), tokens_per_char=self.tokens_per_char,
            keep=keep, last_resort=False,
        )  # fmt: skip

    def refit(
        self, messages: list[dict[str, Any]], sizes: tuple[int, int], chars: int,
        keep: frozenset[str],
    ) -> list[dict[str, Any]] | None:  # fmt: skip
        """After "prompt is too long: N tokens > M maximum" (`sizes`) for a request of `chars`
        characters: learn the window and the ratio, and clear older tool results down to
        `LOW_SHARE` of the limit; only when that cannot bring the prompt under `HIGH_SHARE`,
        earlier turns' texts and the newest results too (a last resort). None when nothing is
        left to trim."""
        tokens, window = sizes
        self.window = window
        self.learn(tokens, chars)
        target = int(LOW_SHARE * self.limit)
        older = trim_for_context(
            messages, tokens, target, tokens_per_char=self.tokens_per_char, keep=keep,
            last_resort=False,
        )  # fmt: skip
        if older is not None:
            tokens -= self.estimate(_json_chars(messages) - _json_chars(older))
            if tokens <= HIGH_SHARE * self.limit:
                return older
        rest = trim_for_context(
            older or messages, tokens, target, tokens_per_char=self.tokens_per_char, keep=keep
        )
        return rest or older


def counts_tokens(engine: Engine) -> bool:
    """Whether the endpoint answers `count_tokens` (OPSBOT_MODEL_FEATURES)."""
    return "token-counting" in model_features(engine.settings)


async def count_prompt_tokens(engine: Engine, run_id: str, request: ModelRequest) -> int | None:
    """Step: the prompt's tokens by the endpoint's count_tokens (the request as it would be
    sent, redacted, with its `thinking`); None when the count fails (the caller keeps its
    estimate)."""
    arguments = count_arguments(scrubbed(request, engine.redactor_for(run_id)))
    try:
        counted = await engine.llm.client.messages.count_tokens(**arguments)
    except anthropic.AnthropicError as error:
        log.warning("count_tokens failed (the estimate stands): %s", error)
        return None
    return counted.input_tokens
