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
# A domain is not a prefix: ``MSS.UX/DPI.2`` (REM HOP-DPI) stays as written.
_SQUASH_PREFIX = re.compile(r"^(?!(?:SSI|DMP|MSS|CDA|PSC|INS|DRS)\.)(?:SC|[A-Z]{3})\.\s*(?=[A-Z0-9 ]+[/.])")


def normalize_requirement_id(raw: str) -> str:
    """``SC.SSI/IE.31`` → ``SSI/IE.31``; blanks (no-break spaces too) collapsed and trimmed; case kept."""
    text = " ".join(str(raw).split())
    return _SQUASH_PREFIX.sub("", text).strip()


# Ids the toolkit used before it took the REM's (issue 13): old run folders, params keys, --only and
# `segur status` still understand them. One table, used everywhere an id is read.
OLD_IDS = {"DMP/CS.01": "DMP/CONF.16", "CDA/N1.01": "DMP/CONF.04"}


def current_requirement_id(req_id: str) -> str:
    """The id a requirement has now: ``DMP/CS.01`` → ``DMP/CONF.16``; others unchanged (normalised)."""
    rid = normalize_requirement_id(req_id)
    return OLD_IDS.get(rid, rid)


def current_id(identifier: str) -> str:
    """A requirement, scenario (``<id>.NN``) or proof (``<id>.NN.NN``) id with its requirement renamed:
    ``DMP/CS.01.01`` → ``DMP/CONF.16.01``; others unchanged (normalised)."""
    text = normalize_requirement_id(identifier)
    for old, new in OLD_IDS.items():
        if text == old or text.startswith(old + "."):
            return new + text[len(old):]
    return text


def renamed_notice(old: str, where: str) -> str:
    """The one-line notice printed when an old id is read (a params key, --only …)."""
    return (f"notice: {where}: {old} is now {current_id(old)} (the REM's id); read as {current_id(old)}")


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
