"""Launching communities from declarative launchers (py-ipv8's ``ipv8.loader``; spec api.md §20).

A :class:`CommunityLauncher` says which overlay class to build, with which strategies, bootstrappers,
settings and identity; class decorators fill those in. A :class:`CommunityLoader` launches its launchers in
dependency order (``after``) for a *session* object, skipping those whose ``precondition`` fails.
Decorators stack; the one closest to the class applies first.
"""
from __future__ import annotations

import importlib
import logging
import types
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from .keys import default_eccrypto
from .peer import Peer

__all__ = ["CommunityLauncher", "CommunityLoader", "IPv8CommunityLoader", "after", "bootstrapper", "kwargs",
           "name", "overlay", "precondition", "set_in_session", "walk_strategy"]

SessionT = TypeVar("SessionT")
CommunityT = TypeVar("CommunityT")
LauncherT = TypeVar("LauncherT", bound=type)

logger = logging.getLogger(__name__)


class CommunityLauncher(Generic[SessionT, CommunityT]):
    """What to launch and how; override methods or use the decorators of this module."""

    hiddenimports: set[str] = set()

    def __init__(self) -> None:
        self.community_args: list[Any] = []
        self.community_kwargs: dict[str, Any] = {}

    def get_name(self) -> str:
        return type(self).__name__

    def not_before(self) -> list[str]:
        """Names of launchers that must launch first (if they launch at all)."""
        return []

    def should_launch(self, session: SessionT) -> bool:
        return True

    def prepare(self, overlay_provider: Any, session: SessionT) -> None:
        """Called just before the overlay is built."""

    def finalize(self, ipv8: Any, session: SessionT, community: CommunityT) -> None:
        """Called after the overlay was built and registered."""

    def get_kwargs(self, session: SessionT) -> dict[str, Any]:
        """Extra settings for the overlay's settings class."""
        return dict(self.community_kwargs)

    @abstractmethod
    def get_overlay_class(self) -> type[CommunityT]:
        """The overlay class to build."""

    def get_walk_strategies(self) -> list[tuple[type, dict[str, Any], int]]:
        """``(strategy class, kwargs, target_peers)`` triples."""
        return []

    def get_bootstrappers(self, session: SessionT) -> list[tuple[type, dict[str, Any]]]:
        """``(bootstrapper class, kwargs)`` pairs."""
        return []

    def get_my_peer(self, ipv8: Any, session: SessionT) -> Peer:
        """The identity of the overlay: a fresh curve25519 key by default."""
        return Peer(default_eccrypto.generate_key("curve25519"))


class CommunityLoader:
    """Launches registered launchers in dependency order; ``_launch`` does the actual work."""

    def __init__(self) -> None:
        self.community_launchers: dict[str, tuple[CommunityLauncher, bool]] = {}

    def get_launcher(self, name: str) -> CommunityLauncher:
        return self.community_launchers[name][0]

    def has_launched(self, name: str) -> bool:
        return self.community_launchers[name][1]

    def set_launcher(self, launcher: CommunityLauncher) -> None:
        """Register ``launcher`` under its name, replacing one that has not launched yet."""
        launcher_name = launcher.get_name()
        if launcher_name in self.community_launchers:
            _, launched = self.community_launchers[launcher_name]
            if launched:
                logger.error("Unable to replace launcher for %s, it was already launched", launcher_name)
                return
            logger.info("Overriding CommunityLauncher %s", launcher_name)
        self.community_launchers[launcher_name] = (launcher, False)

    def del_launcher(self, launcher: CommunityLauncher) -> None:
        self.community_launchers.pop(launcher.get_name(), None)

    def load(self, overlay_provider: Any, session: Any) -> None:
        """Launch every launcher that should launch, each after its launchable dependencies."""
        remaining = [launcher for launcher, _ in self.community_launchers.values()]
        budget = len(remaining) ** 2
        while remaining:
            if budget <= 0:
                raise RuntimeError("Cycle detected in CommunityLauncher not_before(): "
                                   f"{sorted(launcher.get_name() for launcher in remaining)}")
            budget -= 1
            launcher = remaining.pop(0)
            if not launcher.should_launch(session):
                continue
            waiting = False
            for dependency in launcher.not_before():
                entry = self.community_launchers.get(dependency)
                if entry is not None and not entry[1] and entry[0].should_launch(session):
                    waiting = True
                    break
            if waiting:
                remaining.append(launcher)
                continue
            self._launch(launcher, overlay_provider, session)
            self.community_launchers[launcher.get_name()] = (launcher, True)

    @abstractmethod
    def _launch(self, launcher: CommunityLauncher, ipv8: Any, session: Any) -> None:
        """Build and register the overlay of ``launcher``."""


class IPv8CommunityLoader(CommunityLoader):
    """Builds overlays into an IPv8 service (only its ``endpoint``, ``network``, ``overlays`` and
    ``strategies`` are used)."""

    def _launch(self, launcher: CommunityLauncher, ipv8: Any, session: Any) -> None:
        launcher.prepare(ipv8, session)
        overlay_class = launcher.get_overlay_class()
        settings = overlay_class.settings_class(my_peer=launcher.get_my_peer(ipv8, session), endpoint=ipv8.endpoint,
                                                network=ipv8.network, **launcher.get_kwargs(session))
        overlay = overlay_class(settings)
        ipv8.overlays.append(overlay)
        for strategy_class, strategy_kwargs, target_peers in launcher.get_walk_strategies():
            ipv8.strategies.append((strategy_class(overlay, **strategy_kwargs), target_peers))
        for bootstrapper_class, bootstrapper_kwargs in launcher.get_bootstrappers(session):
            overlay.bootstrappers.append(bootstrapper_class(**bootstrapper_kwargs))
        launcher.finalize(ipv8, session, overlay)


# --- decorators -----------------------------------------------------------------------------------------

def _add_hidden_import(launcher_class: type, module: str) -> None:
    launcher_class.hiddenimports = {  # type: ignore[attr-defined]  # a class attribute py-ipv8 adds the same way
        *getattr(launcher_class, "hiddenimports", set()), module}


def _resolve(launcher_class: type, module_or_class: Any, definition: str | None) -> Any:
    """A class given as (module name, class name), as a class, or as a function returning it."""
    if isinstance(module_or_class, str):
        if definition is None:
            raise TypeError(f"{module_or_class!r}: a module name needs the class name as second argument")
        _add_hidden_import(launcher_class, module_or_class)
        return getattr(importlib.import_module(module_or_class), definition)
    if isinstance(module_or_class, (types.FunctionType, types.LambdaType)):
        return module_or_class()
    return module_or_class


def name(str_name: str) -> Callable[[LauncherT], LauncherT]:
    """The launcher's name (used by ``after`` and the loader)."""
    def decorator(launcher_class: LauncherT) -> LauncherT:
        launcher_class.get_name = lambda self: str_name  # type: ignore[attr-defined]
        return launcher_class
    return decorator


def after(*launcher_names: str) -> Callable[[LauncherT], LauncherT]:
    """Launch only after these launchers (when they launch at all)."""
    def decorator(launcher_class: LauncherT) -> LauncherT:
        previous = launcher_class.not_before  # type: ignore[attr-defined]
        launcher_class.not_before = lambda self: [*previous(self), *launcher_names]  # type: ignore[attr-defined]
        return launcher_class
    return decorator


def precondition(expression: str) -> Callable[[LauncherT], LauncherT]:
    """Launch only if ``expression`` (evaluated with ``session`` in scope) is true."""
    code = compile(expression, f"<precondition {expression!r}>", "eval")

    def decorator(launcher_class: LauncherT) -> LauncherT:
        previous = launcher_class.should_launch  # type: ignore[attr-defined]
        launcher_class.should_launch = (  # type: ignore[attr-defined]
            lambda self, session: previous(self, session) and bool(eval(code, {}, {"session": session})))  # noqa: S307
        return launcher_class
    return decorator


def overlay(module_or_class: Any, definition: str | None = None) -> Callable[[LauncherT], LauncherT]:
    """The overlay class; ``("module", "Class")`` is imported lazily, when the launcher asks for it."""
    def decorator(launcher_class: LauncherT) -> LauncherT:
        if isinstance(module_or_class, str):
            _add_hidden_import(launcher_class, module_or_class)

            def get_overlay_class(self: Any) -> type:
                return getattr(importlib.import_module(module_or_class), definition)  # type: ignore[arg-type]
        else:
            def get_overlay_class(self: Any) -> type:
                return _resolve(launcher_class, module_or_class, definition)
        launcher_class.get_overlay_class = get_overlay_class  # type: ignore[attr-defined]
        return launcher_class
    return decorator


def walk_strategy(module_or_class: Any, definition: str | None = None, target_peers: int = 20,
                  kw_args: dict[str, Any] | None = None) -> Callable[[LauncherT], LauncherT]:
    """Add a strategy ``(class, kw_args, target_peers)``; a module name is imported now."""
    def decorator(launcher_class: LauncherT) -> LauncherT:
        strategy_class = _resolve(launcher_class, module_or_class, definition)
        previous = launcher_class.get_walk_strategies  # type: ignore[attr-defined]
        launcher_class.get_walk_strategies = (  # type: ignore[attr-defined]
            lambda self: [*previous(self), (strategy_class, kw_args or {}, target_peers)])
        return launcher_class
    return decorator


def bootstrapper(module_or_class: Any, definition: str | None = None,
                 kw_args: dict[str, Any] | None = None) -> Callable[[LauncherT], LauncherT]:
    """Add a bootstrapper ``(class, kw_args)``; a module name is imported now."""
    def decorator(launcher_class: LauncherT) -> LauncherT:
        bootstrapper_class = _resolve(launcher_class, module_or_class, definition)
        previous = launcher_class.get_bootstrappers  # type: ignore[attr-defined]
        launcher_class.get_bootstrappers = (  # type: ignore[attr-defined]
            lambda self, session: [*previous(self, session), (bootstrapper_class, kw_args or {})])
        return launcher_class
    return decorator


def set_in_session(attribute_name: str) -> Callable[[LauncherT], LauncherT]:
    """After launching, ``setattr(session, attribute_name, community)``."""
    def decorator(launcher_class: LauncherT) -> LauncherT:
        previous = launcher_class.finalize  # type: ignore[attr-defined]

        def finalize(self: Any, ipv8: Any, session: Any, community: Any) -> None:
            previous(self, ipv8, session, community)
            setattr(session, attribute_name, community)
        launcher_class.finalize = finalize  # type: ignore[attr-defined]
        return launcher_class
    return decorator


def kwargs(**name_to_expression: str) -> Callable[[LauncherT], LauncherT]:
    """Extra settings ``name=eval(expression)`` with ``session`` in scope (quote string literals)."""
    compiled = {key: compile(value, f"<kwargs {key}={value!r}>", "eval") for key, value in name_to_expression.items()}

    def decorator(launcher_class: LauncherT) -> LauncherT:
        previous = launcher_class.get_kwargs  # type: ignore[attr-defined]

        def get_kwargs(self: Any, session: Any) -> dict[str, Any]:
            out = previous(self, session)
            for key, code in compiled.items():
                out[key] = eval(code, {}, {"session": session})  # noqa: S307
            return out
        launcher_class.get_kwargs = get_kwargs  # type: ignore[attr-defined]
        return launcher_class
    return decorator
