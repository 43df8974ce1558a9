"""Load-test your own community: the scenario API of ``python -m ipv8fast loadtest --scenario``.

A scenario is a plain class (no base class to import, so one file serves both libraries)::

    from ipv8.community import Community            # py-ipv8's names: ipv8fast serves them through its alias
    from ipv8.lazy_community import lazy_wrapper
    from ipv8.requestcache import RandomNumberCacheWithName, RequestCache

    class MyScenario:
        name = "my protocol"                          # optional: the label of the CSV rows and the plot

        def create_community(self, settings):         # required: one peer (an open 127.0.0.1 endpoint inside)
            return MyCommunity(settings)              # it must have .request_cache, or define request_cache()

        def send_request(self, community, peer, load):  # required: send one request to ``peer``
            community.send_my_request(peer, load)     # keep ``load`` (e.g. on the request's cache) and call
                                                      # load.answered() when the response completes it,
                                                      # load.lost() when its cache times out

        def request_cache(self, community):           # optional: where the --caches fill goes, per peer
            return community.request_cache            # (the default)

Run it with ``python -m ipv8fast loadtest --scenario my_package.my_module:MyScenario`` (or
``path/to/file.py:MyScenario``); add ``--impl pyipv8`` or ``--compare`` for py-ipv8, ``--processes N`` to
spread the peers over N processes.

How one file runs on both libraries: each implementation runs in its own child process, which loads the
scenario module after choosing the library. The ipv8fast child installs :mod:`ipv8fast.compat` first, so the
scenario's ``ipv8.*`` imports resolve to ipv8fast (the same classes ipv8fast's own code uses: nothing is
translated per message); the py-ipv8 child imports the real py-ipv8 and refuses any ``ipv8fast`` import (so
its figures are py-ipv8's alone). Write scenarios against py-ipv8's names; a scenario importing ``ipv8fast``
runs on ipv8fast only.

The harness does the rest: it calls ``MyScenario()`` once per process, ``create_community`` once per peer
(``--peers``), tells every community about up to 8 neighbours (added to its Network as verified peers), keeps
``--window`` requests in flight per community by calling ``send_request`` again after each ``answered()`` or
``lost()``, fills ``--caches`` NumberCaches into the request caches, and records the figures every second.
``load.answered()`` / ``load.lost()`` must be called at most once per request.

This module uses the standard library only: the py-ipv8 child loads it by file path.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import inspect
import os
import sys
import traceback
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

__all__ = ["BUILTIN", "Load", "REQUIRED", "Scenario", "ScenarioError", "check", "forbid_ipv8fast", "label",
           "load", "prepare", "resolve"]

#: The built-in ping load: the default ``--scenario`` (also spelled ``ping``).
BUILTIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ping_scenario.py") + ":PingScenario"

#: Required method -> the parameters it takes after ``self``.
REQUIRED: dict[str, tuple[str, ...]] = {"create_community": ("settings",),
                                        "send_request": ("community", "peer", "load")}
#: Optional method -> its parameters after ``self``.
OPTIONAL: dict[str, tuple[str, ...]] = {"request_cache": ("community",)}


class ScenarioError(ValueError):
    """A ``--scenario`` that cannot be used; the message names what is wrong."""


@runtime_checkable
class Load(Protocol):
    """One community's share of the load, handed to ``send_request``."""

    def answered(self) -> None:
        """The response to one request arrived: count a round trip, send the next request."""

    def lost(self) -> None:
        """One request timed out: count it lost, send the next request."""


class Scenario(Protocol):
    """What ``--scenario`` names (a class; instantiated without arguments). ``request_cache`` is optional."""

    def create_community(self, settings: Any) -> Any:
        """A new community (one peer) from ``settings`` (CommunitySettings of the library under test)."""

    def send_request(self, community: Any, peer: Any, load: Load) -> None:
        """Send one request from ``community`` to ``peer``; its response calls ``load.answered()``."""


def forbid_ipv8fast() -> None:
    """Make any ``ipv8fast`` import fail with a message (the py-ipv8 child must not measure ipv8fast)."""

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
            if fullname == "ipv8fast" or fullname.startswith("ipv8fast."):
                raise ImportError(f"the py-ipv8 run does not import {fullname}: write the scenario against "
                                  "py-ipv8's names (ipv8.*), which ipv8fast serves through its alias",
                                  name=fullname)

    sys.meta_path.insert(0, Refuse())


def prepare(package: str) -> None:
    """Before loading a scenario in a child: ``"ipv8fast"`` installs the alias, ``"ipv8"`` forbids ipv8fast."""
    if package == "ipv8fast":
        importlib.import_module("ipv8fast.compat").install()
    else:
        forbid_ipv8fast()


def _import(module_part: str, spec: str) -> ModuleType:
    if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
        path = os.path.abspath(module_part)
        if not os.path.isfile(path):
            raise ScenarioError(f"--scenario {spec}: file {module_part} not found")
        name = "loadtest_scenario_" + os.path.splitext(os.path.basename(path))[0]
        file_spec = importlib.util.spec_from_file_location(name, path)
        if file_spec is None or file_spec.loader is None:
            raise ScenarioError(f"--scenario {spec}: {module_part} is not a Python file")
        module = importlib.util.module_from_spec(file_spec)
        sys.modules[name] = module  # dataclasses and pickling look the module up by name
        try:
            file_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module
    return importlib.import_module(module_part)


def resolve(spec: str) -> Any:
    """The object ``spec`` names: ``package.module:Name``, ``path/to/file.py:Name`` or ``ping`` (the built-in).

    Raises ScenarioError naming the problem: no ``:Name``, a missing file or module, an import that raised,
    a missing attribute.
    """
    if spec == "ping":
        spec = BUILTIN
    module_part, _, attribute = spec.rpartition(":")
    if not module_part or not attribute or not attribute.isidentifier():
        raise ScenarioError(f"--scenario {spec}: expected package.module:ClassName or path/to/file.py:ClassName")
    try:
        module = _import(module_part, spec)
    except ScenarioError:
        raise
    except ModuleNotFoundError as error:
        missing = error.name or str(error)
        where = "" if missing == module_part else f" (imported by {module_part})"
        raise ScenarioError(f"--scenario {spec}: module {missing} not found{where}") from error
    except (Exception, SystemExit) as error:  # any failure of the user's module is reported
        tail = "".join(traceback.format_exception_only(type(error), error)).strip()
        raise ScenarioError(f"--scenario {spec}: importing {module_part} failed: {tail}") from error
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ScenarioError(f"--scenario {spec}: {module_part} has no attribute {attribute!r}") from None


def _signature_problem(candidate: type, method: str, params: tuple[str, ...]) -> str | None:
    function = getattr(candidate, method, None)
    if function is None:
        return f"missing method {method}(self, {', '.join(params)})"
    if not callable(function):
        return f"{method} is not a method"
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(None, *params)
    except TypeError:
        return f"{method}{signature} cannot be called as {method}(self, {', '.join(params)})"
    return None


def check(candidate: Any, spec: str = "") -> type:
    """``candidate`` if it is a usable scenario class, else ScenarioError naming every problem."""
    label = f"--scenario {spec}: " if spec else ""
    if not inspect.isclass(candidate):
        raise ScenarioError(f"{label}{candidate!r} is not a class")
    problems = [problem for table in (REQUIRED, OPTIONAL) for method, params in table.items()
                if (method in REQUIRED or hasattr(candidate, method))
                and (problem := _signature_problem(candidate, method, params))]
    if problems:
        raise ScenarioError(f"{label}{candidate.__name__}: " + "; ".join(problems)
                            + " (a scenario needs create_community(settings) and send_request(community, peer, load))")
    return candidate


def load(spec: str) -> Any:
    """Resolve, check and instantiate the scenario ``spec`` names (in a child, after :func:`prepare`)."""
    candidate = check(resolve(spec), spec)
    try:
        return candidate()
    except Exception as error:
        raise ScenarioError(f"--scenario {spec}: {candidate.__name__}() failed: "
                            f"{type(error).__name__}: {error}") from error


def label(scenario: Any) -> str:
    """The name a scenario goes by: its ``name`` attribute, else its class name."""
    name = getattr(scenario, "name", None)
    return name if isinstance(name, str) and name else type(scenario).__name__
