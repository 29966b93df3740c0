"""A scripted Anthropic-compatible Messages API server that replays incident scenarios."""
