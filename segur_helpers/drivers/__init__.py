"""The driver contract: how the toolkit reaches a target, and what a vendor implements.

A driver is a :class:`Driver` subclass holding one object per *capability*; notebooks call capabilities,
never screens. This folder is what a vendor reads:

| module | what |
|---|---|
| ``base.py`` | ``Driver``, ``DriverContext``, ``Capability``, ``View``; the ``accounts`` and ``mailbox`` interfaces |
| ``contact.py``, ``account_review.py``, ``directory_sync.py``, ``identity.py``, ``psc.py``, ``patients.py``, ``admissions.py``, ``statistics.py``, ``documents.py``, ``dmp.py``, ``dmp_link.py`` | the other capability interfaces, one per module: the class to subclass and what each method returns and leaves as evidence |
| ``mailboxes.py``, ``directory.py``, ``yaml_driver.py`` | generic drivers any campaign can use: Maildir/IMAP mailboxes, the hospital's LDAP directory, the no-code YAML web driver |
| ``contract.py``, ``check.py`` | which interfaces exist, and ``segur driver check``: what each requirement's scenario needs against what a driver provides |

Implementations live with the product they drive: the demo's is ``demo_dpi/driver/``, a vendor's is its
own module named in the campaign (``driver: vendor_pkg.module:Driver``).

Named drivers are a registry: the ``segur.drivers`` entry-point group (this project registers ``demo``;
a vendor's package may register its own name the same way). Identity providers' test switches
(``data.identity_provider.kind``) are the ``segur.identity_providers`` group.
"""
from __future__ import annotations

import importlib
import sys
from importlib.metadata import entry_points
from pathlib import Path

from ..errors import UserError
from .base import (AccountRef, Accounts, AccountView, Driver, DriverContext, MailMessage, Mailbox,
                   Verification, VerificationView, View)

DRIVERS_GROUP = "segur.drivers"
IDENTITY_PROVIDERS_GROUP = "segur.identity_providers"

__all__ = ["AccountRef", "Accounts", "AccountView", "Driver", "DriverContext", "MailMessage", "Mailbox",
           "Verification", "VerificationView", "View", "load_driver_class", "registered", "load_registered",
           "TodoError", "todo"]


class TodoError(NotImplementedError):
    """Raised by a method of a ``segur init`` skeleton that is not written yet."""


def todo(method):
    """Mark a skeleton's method as not written yet: ``segur driver check`` reports it as TODO, like a
    missing method, until the decorator is removed with the implementation."""
    method.__segur_todo__ = True
    return method


def registered(group: str) -> dict[str, str]:
    """The names registered in an entry-point ``group``: ``{name: "module:Class"}``."""
    return {ep.name: ep.value for ep in entry_points(group=group)}


def load_registered(target: str, *, file: str | None, key: str, near_params: bool = True):
    """``module:Name`` → that module's attribute, None when it has none (one clear line when the module
    cannot be imported). A module next to the params ``file`` is found too (a vendor's driver module may
    sit beside its campaign)."""
    module_name, _, cls_name = target.partition(":")
    if file and near_params:
        folder = str(Path(file).resolve().parent)
        if folder not in sys.path:
            sys.path.append(folder)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"cannot import module {module_name!r} ({exc}); expected an importable module",
                        file=file, key=key) from None
    except SyntaxError as exc:
        where = f"{Path(exc.filename).name}, line {exc.lineno}" if exc.filename else "?"
        raise UserError(f"module {module_name!r} has a syntax error ({where}: {exc.msg}); expected a module "
                        "Python can import", file=file, key=key) from None
    except BaseException as exc:  # noqa: BLE001 — anything a module may raise while it is imported
        if isinstance(exc, KeyboardInterrupt):
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise UserError(f"importing module {module_name!r} raised {type(exc).__name__}: {first}; expected a module "
                        "that imports without error", file=file, key=key) from None
    return getattr(module, cls_name, None)


def load_driver_class(spec: str, *, file: str | None = None, complete: bool = False) -> type[Driver]:
    """``demo`` (a registered name), ``vendor_pkg.module:Driver`` or ``yaml:map.yaml`` (relative to the
    params ``file``) → the driver class (one clear line when it fails; a YAML map is validated here,
    before any run). ``complete``: also refuse a driver whose capability classes leave abstract methods
    unimplemented (a run would fail at every proof; ``segur driver check`` lists them instead)."""
    if spec.startswith("yaml:"):
        from .yaml_driver import YamlDriver, load_map, map_path
        load_map(map_path(spec, file), params_file=file)
        return YamlDriver
    names = registered(DRIVERS_GROUP)
    target = names.get(spec, spec)
    if ":" not in target:
        raise UserError(f"unknown driver {spec!r}; expected one of {', '.join(sorted(names))} or module:Class",
                        file=file, key="driver")
    cls = load_registered(target, file=file, key="driver", near_params=spec not in names)
    if not (isinstance(cls, type) and issubclass(cls, Driver)):
        raise UserError(f"{target!r} is not a subclass of segur_helpers.drivers.Driver", file=file, key="driver")
    if complete:
        for name, left in abstract_left(cls):
            raise UserError(f"{name} leaves abstract method(s) {', '.join(left)} unimplemented; expected every "
                            "method implemented (segur driver check lists what each requirement needs)",
                            file=file, key="driver")
    return cls


def abstract_left(cls: type) -> list[tuple[str, list[str]]]:
    """The driver class itself and the capability implementations of its modules (those it defines or
    imports by name, along its class hierarchy) that still have abstract methods: ``[(class, methods)]``."""
    import inspect

    from .base import Capability

    out = []
    if inspect.isabstract(cls):
        out.append((cls.__name__, sorted(cls.__abstractmethods__)))
    seen: set[type] = set()
    for klass in cls.__mro__:
        module = sys.modules.get(klass.__module__)
        if module is None or klass.__module__.startswith("segur_helpers.drivers"):
            continue
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Capability) and value not in seen
                    and value.interface() is not value and inspect.isabstract(value)
                    and not value.__module__.startswith("segur_helpers.drivers")):
                seen.add(value)
                out.append((value.__name__, sorted(value.__abstractmethods__)))
    return out
