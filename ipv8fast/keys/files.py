"""Key files as py-ipv8 reads and writes them (``keys[].file``): the private key bin, nothing else.

A key file holds exactly ``key.key_to_bin()`` (``b"LibNaCLSK:" + 64 bytes`` for curve25519, DER for the
binary curves), as py-ipv8's ``IPv8`` writes it; PEM files are read too. Writing is crash-safe and private:
a temporary file in the same folder, created with mode 0600 (never readable by others, not even briefly),
written, flushed and fsynced, then linked into place without replacing anything (``os.link``; where the file
system has no hard links, renamed over), and the folder fsynced. A crash at any point leaves the key file
either absent or complete; a temporary file left behind is a dot file ending in ``.tmp``, never a key path.
A key file that exists but is empty, truncated or not a private key raises :class:`KeyFileError` naming the
file and what is wrong, and is never overwritten.
"""
from __future__ import annotations

import errno
import os
import secrets
from typing import Union

from .api import LIBNACL_PK_MAGIC, LIBNACL_SK_MAGIC, PrivateKey
from .crypto import default_eccrypto

__all__ = ["KeyFileError", "TEMP_SUFFIX", "is_temporary_name", "load_or_create_key", "read_key_file",
           "write_key_file"]

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

#: The suffix of the temporary files :func:`write_key_file` makes (dot files: ``.<name>.<random>.tmp``).
TEMP_SUFFIX = ".tmp"
#: Larger than any key bin (a PEM of the largest binary curve is under 1 KiB): bigger files are not keys.
MAX_KEY_FILE_BYTES = 64 * 1024


class KeyFileError(ValueError):
    """A key file that cannot be used; the message names the file and what is wrong with it."""

    def __init__(self, path: PathLike, problem: str) -> None:
        self.path = os.fsdecode(os.fspath(path))
        self.problem = problem
        super().__init__(f"key file {self.path!r}: {problem} (it was left untouched)")


def is_temporary_name(name: str) -> bool:
    """Whether ``name`` (a file name, no folder) is one of :func:`write_key_file`'s temporary files."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def _describe(data: bytes, error: Exception) -> str:
    if not data:
        return "empty (0 bytes), not a private key"
    if data[:len(LIBNACL_PK_MAGIC)] == LIBNACL_PK_MAGIC:
        return "holds a public key (LibNaCLPK:), a private key is needed"
    if data[:len(LIBNACL_SK_MAGIC)] == LIBNACL_SK_MAGIC:
        return f"truncated: {len(data)} bytes, a curve25519 (LibNaCLSK:) key is 74"
    return f"not a private key ({len(data)} bytes): {error}"


def read_key_file(path: PathLike) -> PrivateKey:
    """The private key in ``path``; :class:`KeyFileError` if it is unreadable, empty, truncated or no key."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except IsADirectoryError:
        raise KeyFileError(path, "is a folder, not a file") from None
    except OSError as exc:
        raise KeyFileError(path, f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(path, f"larger than {MAX_KEY_FILE_BYTES} bytes, not a key file")
    try:
        return default_eccrypto.key_from_private_bin(data)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(path, _describe(data, exc)) from None


def _fsync_folder(folder: str) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # platforms without folder descriptors (Windows): rename is as durable as it gets
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_key_file(path: PathLike, data: bytes) -> bool:
    """Write ``data`` to the new file ``path`` atomically with mode 0600; False if ``path`` already exists.

    An existing file is never replaced (the caller reads it instead: another process won the race).
    """
    target = os.fsdecode(os.fspath(path))
    folder, name = os.path.split(os.path.abspath(target))
    temporary = os.path.join(folder, f".{name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(temporary, flags, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view):]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        try:
            os.link(temporary, target)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV,
                                 errno.ENOSYS):
                raise
            if os.path.lexists(target):
                return False
            os.replace(temporary, target)  # no hard links here: rename (a racing writer could win instead)
    finally:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
    _fsync_folder(folder)
    return True


def load_or_create_key(path: PathLike, generation: str | None = None, key_bin: bytes | None = None) -> PrivateKey:
    """The key in ``path`` if it exists; else ``key_bin``'s key or a new ``generation`` key, saved to ``path``."""
    if os.path.lexists(path):
        if not os.path.isfile(path):
            raise KeyFileError(path, "exists but is not a regular file")
        return read_key_file(path)
    if key_bin is not None:
        key = default_eccrypto.key_from_private_bin(key_bin)
    elif generation is not None:
        key = default_eccrypto.generate_key(generation)
    else:
        raise KeyFileError(path, "does not exist and no 'generation' or 'bin' was given to create it")
    if not write_key_file(path, key.key_to_bin()):
        return read_key_file(path)  # created meanwhile by another process: that key is the one
    return key
