"""A turn's outcome: the word the footer, `/opsbot status`, the audit and `opsbot ask` use.

An outcome says what the run's answer means, so it never contradicts the answer: a run whose
fix a person rejected does not end "succeeded", and neither does one that asks the person a
question. Outcomes of a run that answered (the first five) and of one that did not:

- `succeeded`: the agents answered, nothing was rejected, and a repair, if any, was reported
  `fixed`;
- `not_fixed`: the coding agent reported its repair `not_fixed` (`report_fix`);
- `needs_input`: the last agent asked the person something (`needs_input` in
  `record_findings` or `report_fix`) and waits for their reply in the thread;
- `rejected`: a person rejected an action proposed in this turn, e.g. the
  test run after a fix was written, so the fix is untested (declining to run again a command
  whose outcome a crash made unknown does not count: it was approved and ran);
- `expired`: as `rejected`, but nobody decided: an approval request of this turn expired;
- `limited`, `declined`, `failed`, `no_answer`, `cancelled`: a budget or limit stopped it, the
  model declined (stop reason `refusal`), a model call failed, no agent answered, or a person
  cancelled it.
"""

from __future__ import annotations

from collections.abc import Collection

SUCCEEDED = "succeeded"
NOT_FIXED = "not_fixed"
NEEDS_INPUT = "needs_input"
REJECTED = "rejected"
EXPIRED = "expired"
LIMITED = "limited"
DECLINED = "declined"
FAILED = "failed"
NO_ANSWER = "no_answer"

ANSWERED = frozenset({SUCCEEDED, NOT_FIXED, NEEDS_INPUT, REJECTED, EXPIRED})
"""Outcomes of a run that ended with an answer (exit status 0 of `opsbot ask`)."""

WORDS = {NOT_FIXED: "not fixed", NEEDS_INPUT: "waiting for your answer", NO_ANSWER: "no answer",
         EXPIRED: "approval expired"}  # fmt: skip


def words(outcome: str) -> str:
    """The outcome as a person reads it ("not fixed"), e.g. `words("needs_input")`."""
    return WORDS.get(outcome, outcome)


def answered_outcome(
    fix_status: str | None, awaiting_reply: bool, undecided: Collection[str] = ()
) -> str:
    """The outcome of a turn that produced an answer.

    `fix_status` is the status of this turn's last `report_fix` ("fixed", "not_fixed",
    "needs_input") or None; `awaiting_reply` whether the last agent asked the person
    something; `undecided` the statuses ("rejected", "expired") of this turn's approval
    requests that did not let their action run.
    """
    if awaiting_reply or fix_status == NEEDS_INPUT:
        return NEEDS_INPUT
    if fix_status == "not_fixed":
        return NOT_FIXED
    if REJECTED in undecided:
        return REJECTED
    return EXPIRED if EXPIRED in undecided else SUCCEEDED
