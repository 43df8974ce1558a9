"""A user's type checker sees ipv8fast's real signatures: mypy on README.md's examples and on a wrong snippet.

mypy runs once for the module, on the ipv8fast this test imports: the source tree (given as MYPYPATH) in the
editable pass, the installed wheel (found through the interpreter's site-packages and ``py.typed``) when the
suite runs against a wheel. The selectors show mypy the pure twins' annotated code.
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import ipv8fast
from ipv8fast._core import twins

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                       reason="mypy is not installed (the test extra has it)"),
    pytest.mark.skipif(twins.NO_EXTENSIONS,
                       reason="types do not depend on the active twin: checked in the compiled pass"),
]

#: what the user writes wrong, or asks about; "# expect: TEXT" must appear in mypy's message for that line
WRONG = '''\
from ipv8fast import (Community, DataClassPayload, Peer, RequestCache, Serializer, VariablePayload,
                      default_eccrypto, default_serializer, vp_compile)


@vp_compile
class Ping(VariablePayload):
    msg_id = 1
    format_list = ["H"]
    names = ["number"]


n: int = default_serializer.pack_serializable(Ping(1))  # expect: expression has type "bytes", variable has type "int"
reveal_type(default_serializer)  # expect: Revealed type is "ipv8fast._core.serializer_py.Serializer"
reveal_type(Serializer().unpack_serializable)  # expect: -> tuple[Any, int]
reveal_type(RequestCache().has)  # expect: def (prefix: str | type, number: int) -> bool
reveal_type(Community.get_peers)  # expect: -> list[ipv8fast.peer.Peer]
reveal_type(Peer(default_eccrypto.generate_key("curve25519")).mid)  # expect: Revealed type is "bytes"
reveal_type(DataClassPayload)  # expect: ipv8fast.payload.DataClassPayload
RequestCache().add("not a cache")  # expect: Argument 1 to "add" of "RequestCache" has incompatible type "str"
'''


def _site_packages() -> set[Path]:
    return {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """mypy's messages for each checked file (README blocks and the wrong snippet), in one run."""
    work = tmp_path_factory.mktemp("mypy")
    names = []
    for index, source in enumerate(BLOCKS):
        (work / f"readme_block{index}.py").write_text(source, encoding="utf-8")
        names.append(f"readme_block{index}.py")
    (work / "wrong.py").write_text(WRONG, encoding="utf-8")
    (work / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")  # a user's default settings, not ours
    root = Path(ipv8fast.__file__).resolve().parent.parent
    env = {key: value for key, value in os.environ.items() if key != "MYPYPATH"}
    if root not in _site_packages():
        env["MYPYPATH"] = str(root)  # the source tree (mypy refuses site-packages here)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--cache-dir", str(work / ".cache"),
         "--python-executable", sys.executable, "--check-untyped-defs", "--no-error-summary", *names, "wrong.py"],
        cwd=work, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    messages: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        messages.setdefault(line.split(":", 1)[0], []).append(line)
    unexpected = set(messages) - {*names, "wrong.py"}
    assert not unexpected, "\n".join(line for name in unexpected for line in messages[name])
    return messages


def test_readme_examples_are_type_clean(mypy_output: dict[str, list[str]]) -> None:
    assert len(BLOCKS) >= 4
    reported = [line for name, lines in mypy_output.items() if name.startswith("readme_block") for line in lines]
    assert not reported, "\n".join(reported)


def test_public_api_has_real_types(mypy_output: dict[str, list[str]]) -> None:
    by_line: dict[int, str] = {}
    for line in mypy_output.get("wrong.py", []):
        number = int(line.split(":")[1])
        by_line[number] = by_line.get(number, "") + line
    for number, source in enumerate(WRONG.splitlines(), 1):
        if "# expect: " in source:
            expected = source.split("# expect: ", 1)[1]
            assert expected in by_line.get(number, ""), f"line {number}: {source}\nmypy said: {by_line.get(number)}"
        else:
            assert number not in by_line, by_line[number]
