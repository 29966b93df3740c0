"""Workspace confinement: every path a tool touches must stay inside the workspace.

`resolve_inside` checks a path by resolving it (used where a path is handed to a program).
The file tools use the descriptor walk below instead: each component is opened with
`O_NOFOLLOW` relative to its parent's descriptor, starting from the workspace root, and the
final file is read or written through its own descriptor. Nothing is resolved twice, so a
directory swapped for a symlink between a check and a use cannot lead outside (no TOCTOU).
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tools.base import ToolError

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
HARD_LINK_NOTE = (
    "it has more than one hard link, so it may be a link to a file outside the workspace; "
    "it is not read"
)


def resolve_inside(workspace: Path, path: str, *, must_exist: bool = True) -> Path:
    """Resolve `path` (relative to the workspace) and refuse anything that escapes it."""
    if "\x00" in path:
        raise ToolError("path contains a NUL byte")
    root = workspace.resolve()
    candidate = Path(path)
    target = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if target != root and root not in target.parents:
        raise ToolError(f"{path!r} is outside the workspace")
    if must_exist and not target.exists():
        raise ToolError(f"{path!r} does not exist")
    if target.exists():
        mode = target.stat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise ToolError(f"{path!r} is not a regular file or directory")
    return target


def relative_name(workspace: Path, path: Path) -> str:
    """The workspace-relative name of a path, as tools report it."""
    return path.resolve().relative_to(workspace.resolve()).as_posix() or "."


def workspace_parts(workspace: Path, path: str) -> tuple[str, ...]:
    """The components of `path` below the workspace, normalised without touching the disk.

    An absolute path is accepted only when it names something under the workspace. Raises
    `ToolError` for NUL bytes and for paths that leave the workspace (`..`, other roots).
    """
    if "\x00" in path:
        raise ToolError("path contains a NUL byte")
    text = path
    if posixpath.isabs(text):
        for root in (str(workspace.absolute()), str(workspace.resolve())):
            if text == root or text.startswith(root.rstrip("/") + "/"):
                text = text[len(root) :].lstrip("/")
                break
        else:
            raise ToolError(f"{path!r} is outside the workspace")
    normal = posixpath.normpath(text or ".")
    if normal == ".." or normal.startswith("../") or posixpath.isabs(normal):
        raise ToolError(f"{path!r} is outside the workspace")
    return tuple(part for part in normal.split("/") if part not in ("", "."))


def open_root(workspace: Path) -> int:
    """A descriptor of the workspace directory (the operator configured it: it is trusted)."""
    return os.open(workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


class MissingPath(ToolError):
    """The path (or one of its directories) does not exist."""


def _link_refusal(shown: str, name: str) -> ToolError:
    where = f"{shown!r}" if shown == name else f"{shown!r}: {name!r}"
    return ToolError(
        f"{where} is a symbolic link, which is not followed (it may lead outside the workspace)"
    )


def open_dir_at(parent_fd: int, name: str, shown: str, *, create: bool = False) -> int:
    """Open the directory `name` inside `parent_fd` without following a symlink.

    With `create`, a missing directory is made first. Raises `ToolError` when `name` is a
    symlink or not a directory, `MissingPath` when it does not exist; `shown` is the path the
    caller gave (the only name an error message repeats).
    """
    for attempt in (1, 2):
        try:
            return os.open(name, DIR_FLAGS, dir_fd=parent_fd)
        except FileNotFoundError:
            if not create or attempt == 2:
                raise MissingPath(f"{shown!r} does not exist") from None
        except OSError as error:
            status = entry_stat(parent_fd, name)
            if status is not None and stat.S_ISLNK(status.st_mode):
                raise _link_refusal(shown, name) from None
            if error.errno == errno.ENOTDIR:
                raise ToolError(f"{shown!r}: {name!r} is not a directory") from None
            raise ToolError(f"{shown!r} cannot be opened: {error.strerror}") from None
        with suppress(FileExistsError):  # made in the meantime: the next open still checks
            os.mkdir(name, 0o755, dir_fd=parent_fd)
    raise AssertionError("unreachable")


@contextmanager
def parent_dir(workspace: Path, path: str, *, create: bool = False) -> Iterator[tuple[int, str]]:
    """Yield (descriptor of the parent directory, final name) of `path`, walked without links.

    The final name is "." when `path` is the workspace itself. The descriptor is closed when
    the block ends. Raises `ToolError` as `workspace_parts` and `open_dir_at` do.
    """
    parts = workspace_parts(workspace, path)
    fd = open_root(workspace)
    try:
        for part in parts[:-1]:
            child = open_dir_at(fd, part, path, create=create)
            os.close(fd)
            fd = child
        yield fd, parts[-1] if parts else "."
    finally:
        os.close(fd)


@contextmanager
def open_dir(workspace: Path, path: str) -> Iterator[int]:
    """Yield a descriptor of the workspace directory `path` (no symlink on the way)."""
    with parent_dir(workspace, path) as (parent, name):
        fd = os.dup(parent) if name == "." else open_dir_at(parent, name, path)
        try:
            yield fd
        finally:
            os.close(fd)


def entry_stat(parent_fd: int, name: str) -> os.stat_result | None:
    """The entry's own status (a symlink is not followed), or None when it does not exist."""
    try:
        return os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def check_regular(status: os.stat_result, shown: str, *, single_link: bool = True) -> None:
    """Refuse anything but a regular file; with `single_link`, one with several hard links
    too (see HARD_LINK_NOTE). Raises `ToolError` saying which."""
    if stat.S_ISLNK(status.st_mode):
        raise _link_refusal(shown, shown)
    if stat.S_ISDIR(status.st_mode):
        raise ToolError(f"{shown!r} is a directory, not a file")
    if not stat.S_ISREG(status.st_mode):
        raise ToolError(f"{shown!r} is not a regular file or directory")
    if single_link and status.st_nlink > 1:
        raise ToolError(f"{shown!r}: {HARD_LINK_NOTE}")


def open_file_at(parent_fd: int, name: str, shown: str, *, single_link: bool = True) -> int:
    """Open a regular file (singly linked, unless `single_link` is off) for reading without
    following a symlink; returns the descriptor.

    The entry is checked before it is opened (a FIFO or device is never opened) and the open
    descriptor is checked again, so an entry swapped in between is refused (`ToolError`;
    `MissingPath` when it does not exist).
    """
    before = entry_stat(parent_fd, name)
    if before is None:
        raise MissingPath(f"{shown!r} does not exist")
    check_regular(before, shown, single_link=single_link)
    try:
        fd = os.open(name, FILE_FLAGS, dir_fd=parent_fd)
    except FileNotFoundError:
        raise MissingPath(f"{shown!r} does not exist") from None
    except OSError as error:  # swapped for a symlink since the check (ELOOP)
        raise ToolError(f"{shown!r} cannot be opened: {error.strerror}") from None
    after = os.fstat(fd)
    if not os.path.samestat(before, after):
        os.close(fd)
        raise ToolError(f"{shown!r} changed while it was opened")
    return fd


def read_file_at(parent_fd: int, name: str, shown: str, max_bytes: int) -> bytes:
    """The bytes of a regular file (see `open_file_at`); `ToolError` when above `max_bytes`."""
    fd = open_file_at(parent_fd, name, shown)
    with os.fdopen(fd, "rb") as stream:
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ToolError(f"{shown!r} is larger than {max_bytes} bytes")
    return data


def write_file_at(parent_fd: int, name: str, content: bytes) -> None:
    """Replace `name` in `parent_fd` atomically: a temp file made there, then renamed over it.

    An existing file keeps its permission bits; a new one is private (0600).
    """
    existing = entry_stat(parent_fd, name)
    mode = stat.S_IMODE(existing.st_mode) if existing is not None else 0o600
    temp = f".{name}.{os.urandom(6).hex()}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temp, flags, 0o600, dir_fd=parent_fd)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(content)
            os.fchmod(stream.fileno(), mode)
        os.replace(temp, name, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp, dir_fd=parent_fd)
        raise
