"""Small MCP servers (official `mcp` SDK) that the bundled scenarios connect opsbot to."""
