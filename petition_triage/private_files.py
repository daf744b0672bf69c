"""Files only the service's own user may read: its secrets and its SQLite database.

A session secret readable by others lets them forge an admin's session cookie; the database holds
petitions. Both are created with mode 0600 (their folder 0700), and an existing one that others can
read is narrowed to that.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: Path) -> None:
    """Creates the folder for the user alone (an existing one is left as it is: it may be shared)."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)


def restrict(path: Path) -> None:
    """Takes away every permission of group and others from an existing file."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(mode & ~0o077)


def create_private(path: Path, content: str | None = None) -> None:
    """Creates `path` with mode 0600 unless it exists, writing `content` into a new file; an existing
    file is narrowed to 0600."""
    private_folder(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        restrict(path)
        return
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        if content is not None:
            out.write(content)
