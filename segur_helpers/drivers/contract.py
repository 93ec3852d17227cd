"""Which capability interfaces exist, and how a driver's capability answers for a method.

``segur driver check`` (``check.py``) puts these beside what each requirement's scenario needs
(:mod:`segur_helpers.catalog.needs`).
"""
from __future__ import annotations

import contextlib
import importlib
import pkgutil

from .base import Capability


def capability_interfaces() -> dict[str, type[Capability]]:
    """Every capability interface of ``segur_helpers.drivers.*``, by driver attribute name."""
    from .. import drivers as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name in ("yaml_driver", "check", "contract"):
            continue
        with contextlib.suppress(ImportError):
            importlib.import_module(f"{pkg.__name__}.{info.name}")
    out: dict[str, type[Capability]] = {}
    stack = list(Capability.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.interface() is cls:
            out.setdefault(cls.attribute_name(), cls)
    return out


@contextlib.contextmanager
def lenient_capabilities():
    """Let capability classes with unimplemented abstract methods be instantiated, so that a driver
    missing a method can still be loaded and the check can name every missing method at once."""
    saved = {}
    stack = list(Capability.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__abstractmethods__:
            saved[cls] = cls.__abstractmethods__
            cls.__abstractmethods__ = frozenset()
    try:
        yield
    finally:
        for cls, value in saved.items():
            cls.__abstractmethods__ = value


def missing_method(capability: Capability, method: str) -> str | None:
    """Why ``capability.method`` cannot be called ('' reasons → None when it is implemented)."""
    attr = getattr(type(capability), method, None)
    if attr is None:
        return "no such method"
    if getattr(attr, "__isabstractmethod__", False):
        return "not implemented"
    if getattr(attr, "__segur_todo__", False):
        return "TODO (segur init skeleton)"
    if method in capability.unsupported():
        return capability.unsupported_reason(method)
    return None

