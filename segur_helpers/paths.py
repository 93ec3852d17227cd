"""Files a campaign names stay inside its folder, or inside a folder it explicitly allows.

One rule for every file a campaign names (attachments, manual evidence, supplied files of guided proofs,
the mailbox, CA files, the REM…): resolved with symbolic links first, it must lie inside the params
file's folder or one of the campaign's ``allowed_dirs``.
"""
from __future__ import annotations

from pathlib import Path

from .errors import UserError


def confined_path(value: str, *, base_dir: Path, allowed: tuple[Path, ...] = (), file: str | None = None,
                  key: str = "", must_exist: str | None = None) -> Path:
    """The file ``value`` names (relative to the params file's folder), symbolic links resolved, provided it
    lies inside that folder or one of the campaign's ``allowed_dirs``; one :class:`UserError` line
    otherwise (``must_exist``: what the file should be, when it must already exist)."""
    p = Path(str(value)).expanduser()
    p = (p if p.is_absolute() else base_dir / p).resolve()
    roots = (base_dir.resolve(), *allowed)
    if not any(p == r or p.is_relative_to(r) for r in roots):
        raise UserError(f"{p} is outside the campaign's folder {roots[0]}; expected a file inside it or in a "
                        "folder listed under allowed_dirs (symbolic links are resolved first)", file=file, key=key)
    if must_exist and not p.is_file():
        raise UserError(f"file not found: {p}; expected {must_exist} (paths are relative to the params file)",
                        file=file, key=key)
    return p
