"""Requirement, scenario and proof identifiers.

Convergence shows ``SSI/IE.31``; Squash says ``SC.SSI/IE.31`` (``SC.`` = socle; business REMs use
three-letter prefixes such as ``PFI.``). Scenarios are ``<id>.NN`` and proofs ``<id>.NN.NN``
(at most 10 proofs per scenario). File names must survive the ``/``.
"""
from __future__ import annotations

import re
import unicodedata

# ``SC.`` or a business REM's three-letter prefix, possibly followed by a stray blank (real Squash
# exports have ``SC.\xa0DMP/HISTO.01``), before an id with a chapter (``SSI/IE.31``) or a chapter-less
# one (``SC.PSC.01`` → ``PSC.01``).
_SQUASH_PREFIX = re.compile(r"^(?:SC|[A-Z]{3})\.\s*(?=[A-Z0-9 ]+[/.])")


def normalize_requirement_id(raw: str) -> str:
    """``SC.SSI/IE.31`` → ``SSI/IE.31``; blanks (no-break spaces too) collapsed and trimmed; case kept."""
    text = " ".join(str(raw).split())
    return _SQUASH_PREFIX.sub("", text).strip()


def squash_reference(req_id: str, prefix: str = "SC") -> str:
    return f"{prefix}.{normalize_requirement_id(req_id)}"


def scenario_id(req_id: str, n: int) -> str:
    return f"{normalize_requirement_id(req_id)}.{n:02d}"


def proof_id(req_id: str, scenario: int, proof: int) -> str:
    if not 1 <= proof <= 10:
        raise ValueError(f"proof number {proof} out of range 1..10")
    return f"{scenario_id(req_id, scenario)}.{proof:02d}"


def safe_name(identifier: str) -> str:
    """A file-system-safe name: ``SSI/IE.31.01`` → ``SSI_IE.31.01`` (also spaces and other separators)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", identifier.strip()).strip("_")


def family(req_id: str) -> str:
    """``SSI/IE.31`` → ``SSI``; ``HOP VA 1.04`` → ``HOP``."""
    return re.split(r"[/ .]", normalize_requirement_id(req_id), maxsplit=1)[0]


def slug(text: str, max_len: int = 48) -> str:
    """A readable ASCII file-name stem: ``Fiche du compte n° 1 après`` → ``fiche-du-compte-n-1-apres``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_len].rstrip("-") or "item"
