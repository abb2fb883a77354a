"""A training run's output folder: one process at a time, and never an earlier run overwritten.

``claim(out, resume, force)`` is what ``python -m zoo train`` does before it trains:

* it refuses (``FolderInUse``) a folder that already holds a run (a ``checkpoint.npz``) unless the
  command continues it (``--resume``) or replaces it (``--force``);
* it takes an exclusive lock, the file ``OUT/.lock`` created with ``O_EXCL`` and holding the owner's
  pid: a second process finds it and is refused with that pid; a lock left by a process that no
  longer runs (killed) is taken over, and said so;
* it removes the temporary files of saves that were killed mid-write (``tg.save`` writes
  ``.<name>.<pid>.<random>.tmp`` beside its target and renames it; a killed writer leaves it).

``release`` removes the lock again (the command calls it when it ends, however it ends).
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

LOCK_NAME = ".lock"
CHECKPOINT_NAME = "checkpoint.npz"
_TEMPORARY = re.compile(r"\..+\.(\d+)\.[0-9a-f]+\.tmp")


class FolderInUse(ValueError):
    """The output folder holds a run that this command must not overwrite, or another process's lock."""


def claim(out: str | Path, resume: bool, force: bool) -> list[str]:
    """Lock ``out`` for this process (creating it) and tidy it; returns lines to tell the user."""
    out = Path(out)
    refuse_existing_run(out, resume, force)
    out.mkdir(parents=True, exist_ok=True)
    notes = _lock(out)
    refuse_existing_run(out, resume, force)  # again: another run may have finished in between
    removed = remove_stale_temporaries(out)
    if removed:
        size = sum(size for _, size in removed) / 1e6
        notes.append(f"removed {len(removed)} temporary file(s) of interrupted saves ({size:.1f} MB)")
    return notes


def refuse_existing_run(out: Path, resume: bool, force: bool) -> None:
    checkpoint = out / CHECKPOINT_NAME
    if resume and not checkpoint.is_file():
        raise FolderInUse(f"--resume: there is no {checkpoint} to continue")
    if checkpoint.is_file() and not (resume or force):
        raise FolderInUse(
            f"{out} already holds a run ({checkpoint}): continue it with --resume, replace it with "
            "--force, or choose another --out"
        )


def _lock(out: Path) -> list[str]:
    """Create ``out/.lock`` holding our pid (a hard link of a written file: never seen empty); take
    over the lock of a process that no longer runs."""
    path, notes = out / LOCK_NAME, []
    mine = out / f"{LOCK_NAME}.{os.getpid()}"
    mine.write_text(f"{os.getpid()}\n")
    try:
        for _ in range(3):
            try:
                os.link(mine, path)
                return notes
            except FileExistsError:
                owner = _owner(path)
                if owner is not None and _alive(owner):
                    raise FolderInUse(
                        f"{out} is in use by process {owner} (lock {path}); wait for it to finish, or "
                        "choose another --out"
                    ) from None
                path.unlink(missing_ok=True)
                notes.append(f"took over the stale lock {path} of process {owner}, which no longer runs")
        raise FolderInUse(f"{out}: could not take the lock {path} (other processes keep taking it)")
    finally:
        mine.unlink(missing_ok=True)


def release(out: str | Path) -> None:
    """Remove ``out/.lock`` if this process holds it."""
    path = Path(out) / LOCK_NAME
    if _owner(path) == os.getpid():
        path.unlink(missing_ok=True)


def remove_stale_temporaries(out: Path) -> list[tuple[str, int]]:
    """Delete the ``tg.save`` temporaries in ``out`` whose writer no longer runs: [(name, bytes)]."""
    removed = []
    for entry in out.iterdir():
        match = _TEMPORARY.fullmatch(entry.name)
        if match and entry.is_file() and (int(match[1]) == os.getpid() or not _alive(int(match[1]))):
            size = entry.stat().st_size
            entry.unlink(missing_ok=True)
            removed.append((entry.name, size))
    return removed


def _owner(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    """Whether a process with this pid runs (on this machine)."""
    try:
        os.kill(pid, 0)
    except OSError as error:
        return error.errno == errno.EPERM  # it exists, owned by someone else
    return True
