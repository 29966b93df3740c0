"""Secret redaction (kept importable here; the rules live in core/redaction/)."""

from core.redaction import Redactor, StreamRedactor, redact

__all__ = ["Redactor", "StreamRedactor", "redact"]
