"""LLM client, agents, router, state, history, durable workflows and the approval gate."""
