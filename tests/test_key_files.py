"""Key files (``keys[].file``): py-ipv8's format, written atomically with mode 0600, bad ones refused untouched.

The crash test forks a child that writes new key files as fast as it can and SIGKILLs it at random points
(50 times, bounded in time); every key path left behind must be absent or a complete, valid key, every
temporary file a dot file ending in ``.tmp``, every file mode 0600.
"""
from __future__ import annotations

import os
import random
import signal
import stat
import sys
import time
from pathlib import Path

import pytest

from ipv8fast.configuration import ConfigBuilder
from ipv8fast.keys import default_eccrypto
from ipv8fast.keys.files import KeyFileError, is_temporary_name, load_or_create_key, read_key_file, write_key_file
from ipv8fast.service import IPv8

KILLS = 50


def _config(key_file: Path) -> dict:
    builder = ConfigBuilder().clear_keys().clear_overlays().set_address("127.0.0.1").set_port(0)
    return builder.add_key("me", "curve25519", str(key_file)).finalize()


def test_written_file_is_py_ipv8_format_private_and_reloaded(tmp_path: Path) -> None:
    key_file = tmp_path / "ec.pem"
    old_umask = os.umask(0)  # even with a permissive umask the file is 0600 from creation
    try:
        first = IPv8(_config(key_file))
    finally:
        os.umask(old_umask)
    data = key_file.read_bytes()
    assert data == first.keys["me"].key.key_to_bin() and data.startswith(b"LibNaCLSK:") and len(data) == 74
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert IPv8(_config(key_file)).keys["me"].mid == first.keys["me"].mid
    assert [p.name for p in tmp_path.iterdir()] == ["ec.pem"]  # no temporary file left
    crypto = pytest.importorskip("ipv8.keyvault.crypto")  # py-ipv8 reads ours, we read py-ipv8's
    assert crypto.default_eccrypto.key_from_private_bin(data).key_to_bin() == data
    theirs = tmp_path / "theirs.pem"
    theirs.write_bytes(crypto.default_eccrypto.generate_key("curve25519").key_to_bin())
    assert read_key_file(theirs).key_to_bin() == theirs.read_bytes()
    legacy = tmp_path / "legacy.pem"
    legacy.write_bytes(default_eccrypto.generate_key("medium").key_to_bin())
    assert read_key_file(legacy).key_to_bin() == legacy.read_bytes()


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "empty"),
    (default_eccrypto.generate_key("curve25519").key_to_bin()[:40], "truncated: 40 bytes"),
    (b"hello, not a key\n", "not a private key"),
    (default_eccrypto.generate_key("curve25519").pub().key_to_bin(), "public key"),
    (default_eccrypto.generate_key("medium").key_to_bin()[:30], "not a private key"),
])
def test_bad_key_file_fails_naming_it_and_is_kept(tmp_path: Path, content: bytes, problem: str) -> None:
    key_file = tmp_path / "broken.pem"
    key_file.write_bytes(content)
    with pytest.raises(KeyFileError, match=f"{key_file}.*{problem}") as info:
        IPv8(_config(key_file))
    assert info.value.path == str(key_file)
    assert key_file.read_bytes() == content


def test_key_path_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="not a regular file"):
        load_or_create_key(tmp_path, "curve25519")


def test_write_never_replaces(tmp_path: Path) -> None:
    key_file = tmp_path / "k"
    assert write_key_file(key_file, b"first")
    assert not write_key_file(key_file, b"second")
    assert key_file.read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k"]


def _child(folder: Path, start: int) -> None:  # pragma: no cover - runs in the forked child
    try:
        index = start
        while True:
            load_or_create_key(folder / f"key-{index}.pem", "curve25519")
            index += 1
    finally:
        os._exit(0)


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform != "linux", reason="needs fork (Linux)")
def test_sigkill_while_writing_leaves_only_complete_keys(tmp_path: Path) -> None:
    rng = random.Random(13)
    deadline = time.monotonic() + 30.0
    kills = 0
    for round_index in range(KILLS):
        if time.monotonic() > deadline:
            break
        pid = os.fork()
        if pid == 0:  # pragma: no cover
            _child(tmp_path, round_index * 100_000)
        time.sleep(rng.uniform(0.0005, 0.01))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        kills += os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert kills >= KILLS * 0.9, kills
    keys = temporaries = 0
    for entry in tmp_path.iterdir():
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600, entry
        if is_temporary_name(entry.name):
            temporaries += 1
            continue
        assert entry.name.startswith("key-") and entry.name.endswith(".pem"), entry
        data = entry.read_bytes()
        assert len(data) == 74 and default_eccrypto.is_valid_private_bin(data), (entry, data)
        keys += 1
    assert keys > 0  # the children did write keys between the kills (how many depends on the machine's load)
    # every key path the children reached loads (or is created now); a temporary file is never read as a key
    for round_index in range(KILLS):
        load_or_create_key(tmp_path / f"key-{round_index * 100_000}.pem", "curve25519")
    print(f"{kills} kills, {keys} complete keys, {temporaries} temporary files left behind")
