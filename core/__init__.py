"""Settings, database, telemetry, redaction and shared value types. Knows no Slack, DBOS or LLM."""
