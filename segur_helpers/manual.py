"""Manual steps: what a driver cannot do (smart card, phone 2FA, an action in the CNDA's test
environment) the operator does, then supplies the evidence and an attestation.

The campaign marks the step (``requirements.<id>.manual.<step>: {evidence: FILE, attestation: {by, at,
action}}``, paths relative to the params file). In a batch the files are read from the campaign
folder: a missing file makes the proof ERREUR naming the step and the file, nothing else. In JupyterLab
(no ``run_dir``) a missing file or attestation is asked inline (a path, then who and what), with a
preview. Supplied files are evidence like any other: copied into ``evidence/``, hashed, marked as
provided by the operator; the attestation is kept beside them as JSON, hashed too, and shown on a card.
"""
from __future__ import annotations

import base64
import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .clock import now_paris
from .drivers.base import MailMessage
from .errors import ManualEvidenceMissing, UserError
from .evidence import EvidenceItem, esc, hash_line

if TYPE_CHECKING:  # pragma: no cover
    from .proof import Proof

IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
               "webp": "image/webp"}


@dataclass
class ManualEvidence:
    path: Path
    item: EvidenceItem
    message: MailMessage | None = None   # for an .eml: the parsed message, for checks

    @property
    def suffix(self) -> str:
        return self.path.suffix.lower().lstrip(".")


def _ask(prompt: str) -> str:
    return input(prompt).strip()


def _interactive_fill(proof: "Proof", step: int, conf: dict, missing: list[Path]) -> None:
    """In JupyterLab: ask for each missing file's path and for the attestation."""
    proof.recorder.show(
        f'<div class="segur-card segur-manual"><h4>Étape {step} — à réaliser manuellement</h4>'
        f'<p>{esc(conf["title"])}</p><p>Réalisez l\'action dans le produit, puis indiquez le fichier de preuve '
        f'(capture, message .eml, PDF, CSV) et votre attestation dans les champs ci-dessous.</p></div>')
    for i, path in enumerate(list(conf["paths"])):
        if path in missing:
            answer = _ask(f"Étape {step} — chemin du fichier de preuve (attendu : {path.name}) : ")
            try:   # inside the campaign's folder (or allowed_dirs), symbolic links resolved, as in the params
                chosen = proof.campaign.resolve_path(answer, key=f"manual.{step}.evidence")
            except UserError as exc:
                raise ManualEvidenceMissing(f"étape {step} (réalisée manuellement) : fichier refusé, hors du dossier "
                                            f"de la campagne : {exc}") from None
            if not chosen.is_file():
                raise ManualEvidenceMissing(f"étape {step} (réalisée manuellement) : fichier de preuve introuvable : "
                                            f"{chosen}")
            conf["paths"][i] = chosen
    att = conf["attestation"]
    if not att.get("by"):
        att["by"] = _ask(f"Étape {step} — réalisée par (nom, fonction) : ") or proof.campaign.operator
    if not att.get("action"):
        att["action"] = _ask(f"Étape {step} — ce qui a été fait : ")
    if not att.get("at"):
        att["at"] = now_paris().isoformat(timespec="minutes")


def _preview(ev: ManualEvidence) -> str:
    data = ev.path.read_bytes()
    if ev.suffix in IMAGE_TYPES:
        b64 = base64.b64encode(data).decode()
        return f'<img class="shot" src="data:{IMAGE_TYPES[ev.suffix]};base64,{b64}" alt="{esc(ev.item.caption)}">'
    if ev.suffix == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8", errors="replace"))))[:11]
        body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table>{body}</table>" + ("<p>(10 premières lignes)</p>" if len(rows) > 10 else "")
    if ev.suffix == "pdf":
        return f"<p>Document PDF fourni ({ev.item.size} octets), conservé tel quel.</p>"
    if ev.suffix in ("txt", "log", "json", "xml"):
        return f"<pre>{esc(data.decode('utf-8', errors='replace')[:3000])}</pre>"
    return ""


def fmt_time(value: str) -> str:
    from .report import fmt_time as fmt
    return fmt(value)


def attestation_html(step: int, title: str, att: dict, items: list[EvidenceItem]) -> str:
    files = "".join(f"<li>{esc(i.name)} — SHA-256 <span class='hash sha'>{esc(i.sha256)}</span></li>" for i in items)
    return (f'<div class="segur-card segur-manual"><h4>Étape {step} réalisée manuellement — attestation de '
            f'l\'opérateur</h4><table><tr><th style="width:24%">Étape</th><td>{esc(title)}</td></tr>'
            f'<tr><th>Réalisée par</th><td>{esc(att.get("by", ""))}</td></tr>'
            f'<tr><th>Date et heure</th><td>{esc(fmt_time(str(att.get("at", ""))))}</td></tr>'
            f'<tr><th>Action réalisée</th><td>{esc(att.get("action", ""))}</td></tr></table>'
            f'<p>Éléments fournis par l\'opérateur (non capturés par l\'outil) :</p><ul>{files}</ul></div>')


async def manual_evidence(proof: "Proof", step: int, caption: str, *,
                          highlight: Callable[[MailMessage], list[str]] | None = None) -> list[ManualEvidence]:
    """Load, record and show the operator-supplied evidence of ``step`` (see the module's docstring)."""
    conf = dict(proof.campaign.requirements[proof.requirement.id]["manual"][step])
    conf["paths"] = [proof.campaign.resolve_path(f) for f in conf["evidence"]]
    conf["attestation"] = dict(conf.get("attestation") or {})
    missing = [p for p in conf["paths"] if not p.is_file()]
    if (missing or not all(conf["attestation"].get(k) for k in ("by", "at", "action"))) and proof.interactive:
        _interactive_fill(proof, step, conf, missing)
        missing = [p for p in conf["paths"] if not p.is_file()]
    if missing:
        raise ManualEvidenceMissing(
            f"étape {step} marquée manuelle : fichier de preuve attendu absent : {missing[0]} "
            f"(requirements.{proof.requirement.id}.manual.{step}.evidence)")
    absent = [k for k in ("by", "at", "action") if not conf["attestation"].get(k)]
    if absent:
        raise ManualEvidenceMissing(
            f"étape {step} marquée manuelle : attestation incomplète, il manque {', '.join(absent)} "
            f"(requirements.{proof.requirement.id}.manual.{step}.attestation)")
    rec = proof.recorder
    out: list[ManualEvidence] = []
    for path in conf["paths"]:
        label = f"{caption} ({path.name})"
        if path.suffix.lower() == ".eml":
            message = MailMessage(path.read_bytes(), key=f"manual:{path.name}")
            item = rec.email(message, label, highlight=highlight(message) if highlight else (), manual=True)
            out.append(ManualEvidence(path, item, message))
        else:
            item = rec.attach(path, label, manual=True, show=False)
            ev = ManualEvidence(path, item)
            rec.show(f'<div class="segur-card segur-manual"><h4>Fourni par l\'opérateur — {esc(item.caption)}</h4>'
                     f'{_preview(ev)}{hash_line(item.name, item.sha256, f"{item.size} octets")}</div>')
            out.append(ev)
    att = conf["attestation"] | {"step": step, "step_title": conf["title"],
                                 "files": [{"name": e.item.name, "source": e.path.name, "sha256": e.item.sha256}
                                           for e in out]}
    kept = rec.observation(att, f"Attestation de l'opérateur pour l'étape {step}", manual=True)
    proof.manual_records.append(att | {"attestation_file": kept.name, "attestation_sha256": kept.sha256})
    rec.show(attestation_html(step, conf["title"], att, [e.item for e in out] + [kept]))
    return out
