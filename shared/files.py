"""The two ways both apps write a file that must survive a crash or stay private.

- `write_atomically`: a file others read (a publication, the verifier's cache, a key) is
  replaced whole: after a crash at any point it holds the old content or the new, never a mix
  and never an empty file. The data and the rename are both fsync'ed, so a power cut right
  after the call cannot bring the old file back.
- `create_private`: a secret that must never be readable by others, whatever the umask, and
  never overwritten: a second process that races to make it gets FileExistsError and reads
  the first one's.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

PUBLIC = 0o644  # read by a web server or a process running as another user
PRIVATE = 0o600


def write_atomically(path: Path | str, data: bytes, *, mode: int = PUBLIC) -> Path:
    """Replace `path` with `data` (file mode `mode`); the directory must exist."""
    path = Path(path)
    directory = path.parent
    # mkstemp makes the file 0600, so a private file is never readable in between.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_directory(directory)  # make the rename itself durable
    return path


def create_private(path: Path | str, content: bytes | None = None) -> None:
    """Create `path` with mode 0600 holding `content`; FileExistsError if it is there already."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    with os.fdopen(fd, "wb") as fh:
        if content:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())


def fsync_directory(directory: Path | str) -> None:
    """Flush a directory's entries (a rename, a new file) to disk where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # platforms that cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
