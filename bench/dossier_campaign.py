"""The demo dossier (``params/demo-dossier.yaml``) copied into a folder and pointed at a demo stack on free
ports, with its REM imported: what the dossier's tests and benchmark run.

``automated`` keeps only those automated requirements of the campaign (the others then count as missing),
so a test can run the dossier's every kind of proof without the whole demo campaign.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOSSIER = ROOT / "params" / "demo-dossier.yaml"


def dossier_campaign(folder: Path, stack, rem_xlsx: Path, *, automated: tuple[str, ...] | None = None,
                     guided: tuple[str, ...] | None = None, name: str = "demo-dossier.yaml") -> Path:
    """Write the campaign (and its ``dossier/`` files) under ``folder``, retargeted at ``stack``; import
    ``rem_xlsx`` (project HOP-DPI) into it. ``automated``/``guided``: keep only these requirements of that
    kind (None: all)."""
    from segur_helpers.catalog.rem import import_rem

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "params" / "dossier", folder / "dossier", dirs_exist_ok=True)
    data = yaml.safe_load(stack.retarget(DOSSIER.read_text(encoding="utf-8")))
    kept = {}
    for rid, entry in data["requirements"].items():
        entry = entry or {}
        if entry.get("guided") is not None:
            if guided is None or rid in guided:
                kept[rid] = entry
        elif entry.get("condition_met") is False:
            kept[rid] = entry
        elif automated is None or rid in automated:
            kept[rid] = entry
    data["requirements"] = kept
    data["timeouts"] = {"mail_s": 10, "step_s": 90}
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    import_rem(rem_xlsx, "HOP-DPI").save(folder / data["rem"])
    return path
