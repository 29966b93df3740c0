"""Kernel confinement (Landlock and seccomp) for every command that runs without approval."""
