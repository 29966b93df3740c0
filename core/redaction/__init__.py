"""Secret redaction: applied to tool output before the model and to model output before people.

`Redactor.redact` hides secrets in text (vendor keys, credential values, private keys, ...);
`Redactor.for_run` gives a run its own memory of what it hid; `Redactor.mask_preview` masks
values in approval-card previews without ever hiding code; `StreamRedactor` works on pieces.
"""

from core.redaction.redactor import Redactor, redact
from core.redaction.stream import StreamRedactor

__all__ = ["Redactor", "StreamRedactor", "redact"]
