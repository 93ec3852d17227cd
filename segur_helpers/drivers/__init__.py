"""Drivers: how the toolkit reaches a target. ``load_driver_class`` reads the params' ``driver:``."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

from ..errors import UserError
from .base import (AccountRef, Accounts, AccountView, Driver, DriverContext, MailMessage, Mailbox,
                   Verification, VerificationView, View)

BUILTIN = {"demo": "segur_helpers.drivers.demo:DemoDriver"}

__all__ = ["AccountRef", "Accounts", "AccountView", "Driver", "DriverContext", "MailMessage", "Mailbox",
           "Verification", "VerificationView", "View", "load_driver_class", "BUILTIN"]


def load_driver_class(spec: str, *, file: str | None = None) -> type[Driver]:
    """``demo``, ``vendor_pkg.module:Driver`` or ``yaml:map.yaml`` (relative to the params ``file``) → the
    driver class (one clear line when it fails; a YAML map is validated here, before any run)."""
    if spec.startswith("yaml:"):
        from .yaml_driver import YamlDriver, load_map, map_path
        load_map(map_path(spec, file), params_file=file)
        return YamlDriver
    target = BUILTIN.get(spec, spec)
    if ":" not in target:
        raise UserError(f"unknown driver {spec!r}; expected one of {', '.join(BUILTIN)} or module:Class",
                        file=file, key="driver")
    module_name, _, cls_name = target.partition(":")
    if file and spec not in BUILTIN:  # a vendor's driver module may sit next to its params file
        folder = str(Path(file).resolve().parent)
        if folder not in sys.path:
            sys.path.append(folder)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"cannot import module {module_name!r} ({exc}); expected an importable driver module",
                        file=file, key="driver") from None
    cls = getattr(module, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Driver)):
        raise UserError(f"{target!r} is not a subclass of segur_helpers.drivers.Driver", file=file, key="driver")
    return cls
