"""A reviewer's French: check results, numbers, Paris time with its offset, elisions.

Everything a proof, a summary or a justification shows goes through these helpers, so one proof
speaks one language and one time zone: ``RÉUSSI``/``ÉCHEC`` (the machine-readable ``passed`` stays a
boolean), « 3,7 s », « 04/12/2026 à 14:05:03 (heure de Paris, UTC+01:00) », « d'Éditeur ».
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from .clock import PARIS

PASSED, FAILED = "RÉUSSI", "ÉCHEC"


def result_word(passed: bool) -> str:
    """The word a reviewer reads for a check's outcome."""
    return PASSED if passed else FAILED


def num(value: float | int, decimals: int = 1, *, group: bool = True) -> str:
    """A number in French: decimal comma, narrow no-break space between thousands (« 1 234,5 »);
    ``group=False`` for a spreadsheet cell (« 1234,5 », which Excel in French reads as a number)."""
    text = f"{value:{',' if group else ''}.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def seconds(value: float | int | str | None, decimals: int = 1) -> str:
    """A duration in seconds, « 3,7 s » ('' when unknown)."""
    try:
        return f"{num(float(value), decimals)} s"
    except (TypeError, ValueError):
        return ""


def offset(d: datetime) -> str:
    """« UTC+01:00 » for a zone-aware time."""
    z = d.strftime("%z") or "+0000"
    return f"UTC{z[:3]}:{z[3:]}"


def paris(d: datetime) -> datetime:
    """``d`` in Paris time (a naive time is taken as UTC, as the toolkit's targets store it)."""
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return d.astimezone(PARIS)


def when(value: str | datetime | None, *, seconds: bool = True) -> str:
    """« 04/12/2026 à 14:05:03 (heure de Paris, UTC+01:00) ». A time without zone that a person wrote
    (an operator's attestation) is shown as written, without inventing a zone for it."""
    if isinstance(value, datetime):
        d = value
    else:
        try:
            d = datetime.fromisoformat(str(value or "").replace("Z", "+00:00"))
        except (TypeError, ValueError):
            return str(value or "")
    if d.tzinfo is None:
        return d.strftime("%d/%m/%Y à %H:%M")
    d = paris(d)
    clock = "%H:%M:%S" if seconds else "%H:%M"
    return d.strftime(f"%d/%m/%Y à {clock}") + f" (heure de Paris, {offset(d)})"


def mail_date(header: str) -> str:
    """An e-mail's Date header as the reviewer reads it, in Paris time (the .eml keeps the original)."""
    try:
        d = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return header
    if d is None:
        return header
    return when(d)


# ISO 8601 instants with a zone (``2026-12-04T02:45:43Z``, ``…+00:00``); dates alone are left alone
_ISO = re.compile(r"\b(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})(?![\d:])")


def _to_paris_iso(m: re.Match) -> str:
    zone = m.group(3)
    if zone != "Z" and ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    clock = m.group(2) if m.group(2).count(":") == 2 else m.group(2) + ":00"
    try:
        d = datetime.fromisoformat(f"{m.group(1)}T{clock}{'+00:00' if zone == 'Z' else zone}")
    except ValueError:
        return m.group(0)
    return paris(d).isoformat(timespec="seconds")


def paris_iso_text(text: str) -> str:
    """``text`` (a JSON document shown to the reviewer) with every zoned ISO instant written in Paris
    time, same instant, offset shown (``2026-12-04T02:45:43Z`` → ``2026-12-04T03:45:43+01:00``)."""
    return _ISO.sub(_to_paris_iso, text)


def paris_human_text(text: str) -> str:
    """``text`` with every zoned ISO instant written as « 04/12/2026 à 03:45:43 (heure de Paris, UTC+01:00) »."""
    return _ISO.sub(lambda m: when(_to_paris_iso(m)), text)


_VOWEL = re.compile(r"^[aeiouyhàâäéèêëîïôöùûüœAEIOUYHÀÂÄÉÈÊËÎÏÔÖÙÛÜŒ]")


def elides(word: str) -> bool:
    """Whether « de »/« le » before ``word`` becomes « d' »/« l' » (vowel or mute h; a leading « h » is
    taken as mute, as in the toolkit's words: hôpital, habilitation)."""
    return bool(_VOWEL.match(str(word).strip()))


def de(word: str) -> str:
    """« de Camille », « d'Éditeur »."""
    word = str(word).strip()
    return f"d'{word}" if elides(word) else f"de {word}"


def le(word: str) -> str:
    """« le compte », « l'éditeur »."""
    word = str(word).strip()
    return f"l'{word}" if elides(word) else f"le {word}"
