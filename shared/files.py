"""The two ways both apps write a file that must survive a crash or stay private.

- `write_atomically`: a file others read (a publication, the verifier's cache, a key) is
  replaced whole: after a crash at any point it holds the old content or the new, never a mix
  and never an empty file. The data and the rename are both fsync'ed, so a power cut right
  after the call cannot bring the old file back.
- `create_private`: a secret that must never be readable by others, whatever the umask, and
  never overwritten: a second process that races to make it gets FileExistsError and reads
  the first one's, whole: the file appears under its name (a hard link) only once written.

Both take the content as bytes or as chunks (an upload, an export), never held whole in memory.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

PUBLIC = 0o644  # read by a web server or a process running as another user
PRIVATE = 0o600
Content = bytes | Iterable[bytes]


def write_atomically(path: Path | str, data: Content, *, mode: int = PUBLIC) -> Path:
    """Replace `path` with `data` (file mode `mode`); the directory must exist."""
    path = Path(path)
    tmp = _written_aside(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)  # make the rename itself durable
    return path


def create_private(path: Path | str, content: Content | None = None) -> None:
    """Create `path` with mode 0600 holding `content`; FileExistsError if it is there already."""
    path = Path(path)
    tmp = _written_aside(path, content or b"", PRIVATE)
    try:
        os.link(tmp, path)  # unlike a rename, never replaces a file already there
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links (FAT, some network shares)
        _copy_exclusive(tmp, path)
    finally:
        tmp.unlink()
    fsync_directory(path.parent)


def _copy_exclusive(source: Path, path: Path) -> None:
    """`source`'s bytes into a new `path` (0600, never replacing one): where a hard link cannot
    be made; a racing reader may then see the file before it is whole."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _written_aside(path: Path, data: Content, mode: int) -> Path:
    """`data` in a new temporary file beside `path`, flushed to disk, then given `mode`."""
    # mkstemp makes the file 0600, so a private file is never readable in between.
    fd, name = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write(fh, data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _write(fh: BinaryIO, data: Content) -> None:
    if isinstance(data, (bytes, bytearray, memoryview)):
        fh.write(data)
        return
    for chunk in data:
        fh.write(chunk)


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
