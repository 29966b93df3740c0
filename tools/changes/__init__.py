"""Code changes as pull requests: per-thread worktrees and branches, the forge APIs."""
