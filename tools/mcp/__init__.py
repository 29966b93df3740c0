"""The MCP toolset: MCP servers (stdio or Streamable HTTP) whose tools opsbot offers to agents."""
