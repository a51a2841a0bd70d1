"""Atomic file writes: a reader sees the old file or the new one, never half of either.

The data goes to a temporary file in the destination's folder, is flushed and fsynced, then
``os.replace`` puts it in place (atomic on POSIX and Windows within one file system).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write"]


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def atomic_write(path: str | os.PathLike[str], data: str | bytes, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` atomically, creating missing parent folders.

    Parameters
    ----------
    path : path
        Destination file; replaced if it exists.
    data : str or bytes
        Text (encoded with ``encoding``) or bytes.
    encoding : str, default "utf-8"

    Returns
    -------
    pathlib.Path
        The destination.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = tempfile.mkdtemp()
    >>> p = atomic_write(pathlib.Path(d) / "sub" / "a.txt", "hello")
    >>> p.read_text()
    'hello'
    >>> oct(p.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    True
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode(encoding) if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            # mkstemp creates 0600; give the file the permissions a plain open() would (0666 minus umask),
            # or keep those of the file being replaced
            os.fchmod(fh.fileno(), dest.stat().st_mode & 0o777 if dest.exists() else 0o666 & ~_umask())
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(dest.parent, os.O_RDONLY)
    except OSError:
        return dest
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return dest
