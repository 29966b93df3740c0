"""Real MCP servers (official `mcp` SDK) that the MCP tests connect to."""
