"""The shell toolset: `shell_execute` (tool.py), its one parse (syntax.py), its per-program
allow-lists (programs.py), word expansion (expand.py) and its confined executor (executor.py)."""
