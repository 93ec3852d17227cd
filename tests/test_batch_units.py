"""Units of the batch's helpers: print-ready screenshots, staleness across runs, scheduler address."""
from __future__ import annotations

import base64
import io
import json
from datetime import datetime, timedelta

from PIL import Image

from segur_helpers.batch import _local_scheduler
from segur_helpers.printimages import SLICE_PX, compact_screenshots
from segur_helpers.proof import PARIS
from segur_helpers.runfolder import latest_per_requirement


def _shot_html(w: int, h: int) -> str:
    img = Image.new("RGB", (w, h), "white")
    for y in range(0, h, 40):                      # some "text" and the red outline of the examined element
        img.paste((30, 30, 30), (20, y + 10, 600, y + 22))
    img.paste((0xE3, 0x00, 0x1B), (10, h - 60, 700, h - 57))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return (f'<style></style><div class="segur-card"><img alt="Vue" class="shot" '
            f'src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"></div>')


def _images(html: str) -> list[Image.Image]:
    import re
    return [Image.open(io.BytesIO(base64.b64decode(m))) for m in re.findall(r'base64,([A-Za-z0-9+/=]+)"', html)]


def test_tall_screenshot_is_sliced_and_keeps_the_outline_red():
    out = compact_screenshots(_shot_html(1280, 2 * SLICE_PX + 100))
    images = _images(out)
    assert len(images) == 3 and "imprimée en 3 parties" in out and 'class="shot-slice"' in out
    assert sum(i.size[1] for i in images) == 2 * SLICE_PX + 100 and all(i.size[0] == 1280 for i in images)
    last = images[-1].convert("RGB")
    assert last.getpixel((300, last.size[1] - 59)) == (0xE3, 0x00, 0x1B)


def test_short_screenshot_stays_one_picture():
    out = compact_screenshots(_shot_html(1280, 560))
    assert len(_images(out)) == 1 and 'class="shot"' in out and 'alt="Vue"' in out


def test_status_flags_old_proofs_and_other_versions(tmp_path):
    now = datetime(2026, 11, 25, 12, 0, tzinfo=PARIS)
    for run_id, when, version, verdict in (("r1", now - timedelta(days=40), "1.0", "NON CONFORME"),
                                           ("r2", now - timedelta(days=2), "1.1", "CONFORME")):
        run = tmp_path / "demo" / run_id
        run.mkdir(parents=True)
        (run / "run.json").write_text(json.dumps({
            "run_id": run_id, "started": when.isoformat(), "version": version, "product": "P",
            "proofs": [{"scenario": "A/B.01.01", "requirement": "A/B.01", "verdict": verdict,
                        "finished": when.isoformat()},
                       *([{"scenario": "A/B.02.01", "requirement": "A/B.02", "verdict": "ERREUR",
                           "finished": when.isoformat()}] if run_id == "r1" else [])]}))
    rows = {r["scenario"]: r for r in latest_per_requirement(tmp_path, "demo", 30, "1.1", now)}
    assert rows["A/B.01.01"]["verdict"] == "CONFORME" and rows["A/B.01.01"]["stale"] == ""
    assert rows["A/B.02.01"]["run_id"] == "r1"
    assert "older than 30 days" in rows["A/B.02.01"]["stale"] and "version 1.0, not 1.1" in rows["A/B.02.01"]["stale"]


def test_local_scheduler_addresses():
    assert _local_scheduler("tcp://127.0.0.1:8786") and _local_scheduler("localhost:8786")
    assert not _local_scheduler("tcp://10.0.0.5:8786")
