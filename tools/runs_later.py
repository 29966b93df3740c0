"""Files that configure or run code later: a write_file or edit_file of one is CRITICAL."""

from __future__ import annotations

from fnmatch import fnmatchcase

_GIT = "git runs programs named in its configuration, hooks and attributes (filters, diff drivers)"
_KUBE = "a kubeconfig runs exec credential plugins and chooses the cluster kubectl talks to"
_SHELL = "a shell runs it at login or start"
_CI = "CI runs it with the pipeline's credentials"
_CRON = "cron runs it on a schedule"
_PACKAGES = "package tools read it (scripts, indexes, credentials) on the next install or publish"
_PYTHON = "python or its tools run it without being asked (import at start, pytest, pip install)"
# Files that configure or run code later, on another command or another machine: a write to
# one of them is CRITICAL (no self-approval by default). Each pattern is matched, ignoring
# case, against every trailing part of the path ("a/.git/config" -> ".git/config", "config").
# Makefile: `make` runs its recipes on developers' and CI machines, and people run it without
# reading it. conftest.py/setup.py: pytest and pip run them implicitly (CI runs pytest on every
# push). Ordinary source files stay WRITE: they are what a fix changes and the diff is reviewed.
RUNS_CODE_LATER: tuple[tuple[str, str], ...] = (
    (".git", _GIT), (".git/*", _GIT), (".gitconfig", _GIT), (".gitmodules", _GIT),
    (".gitattributes", _GIT), (".pre-commit-config.yaml", _GIT),
    (".kube/*", _KUBE), ("kubeconfig*", _KUBE), ("*.kubeconfig", _KUBE),
    (".bashrc", _SHELL), (".bash_profile", _SHELL), (".bash_login", _SHELL),
    (".bash_logout", _SHELL), (".profile", _SHELL), (".zshrc", _SHELL), (".zshenv", _SHELL),
    (".zprofile", _SHELL), (".zlogin", _SHELL), (".envrc", "direnv runs it on entering the folder"),
    (".github/workflows/*", _CI), (".github/actions/*", _CI), (".gitlab-ci.yml", _CI),
    (".circleci/*", _CI), ("jenkinsfile", _CI), (".buildkite/*", _CI),
    ("crontab", _CRON), ("cron.d/*", _CRON),
    (".npmrc", _PACKAGES), (".yarnrc", _PACKAGES), (".yarnrc.yml", _PACKAGES),
    (".pypirc", _PACKAGES), ("pip.conf", _PACKAGES),
    (".ssh/*", "ssh runs its config's commands (ProxyCommand) and trusts its keys"),
    (".docker/*", "docker runs the credential helpers its config names"),
    ("makefile", "make runs its recipes"), ("gnumakefile", "make runs its recipes"),
    ("conftest.py", _PYTHON), ("setup.py", _PYTHON), ("sitecustomize.py", _PYTHON),
    ("usercustomize.py", _PYTHON), ("*.pth", _PYTHON),
    (".env", "it holds the credentials a service reads at start"),
    (".env.*", "it holds the credentials a service reads at start"),
)  # fmt: skip


def runs_code_later(parts: tuple[str, ...]) -> str | None:
    """Why a file at these path parts configures or runs code later, or None."""
    tails = ["/".join(parts[i:]).casefold() for i in range(len(parts))]
    for pattern, why in RUNS_CODE_LATER:
        if any(fnmatchcase(tail, pattern) for tail in tails):
            return why
    return None
