"""Units of the batch's helpers: print-ready screenshots, the HTML exporter kept per thread, staleness across
runs, scheduler address."""
from __future__ import annotations

import base64
import io
import json
from datetime import datetime, timedelta

from PIL import Image

from segur_helpers.batch.dask_executor import _local_scheduler
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


def _planned(sid: str, expected_s=None, tags=(), disrupts=(), applicable=True, reads_all=(), writes=()):
    from segur_helpers.batch.plan import Planned
    from segur_helpers.catalog import Requirement, Scenario

    scen = Scenario(id=sid, number=1, title="t", notebook="x.ipynb", proofs=(), expected_s=expected_s,
                    disrupts=tuple(disrupts), reads_all=tuple(reads_all), writes=tuple(writes))
    req = Requirement(id=sid.rsplit(".", 1)[0], title="t", chapter="C", function="", conditional=False,
                      condition="", summary="s", scenarios=(scen,), tags=tuple(tags))
    return Planned(req, scen, applicable)


def test_schedule_starts_the_longest_expected_proofs_first():
    from segur_helpers.batch.plan import schedule

    items = [_planned("A/X.01.01"), _planned("A/X.02.01", expected_s=25), _planned("A/X.03.01"),
             _planned("A/X.04.01")]
    order = lambda out: [i.scenario.id for i in out]  # noqa: E731
    # no measure: the catalogue's hint lifts its proof, the others keep the params' order
    assert order(schedule(items, {})) == ["A/X.02.01", "A/X.01.01", "A/X.03.01", "A/X.04.01"]
    # a measure from an earlier run wins over the hint; unmeasured proofs count as the median
    measured = {"A/X.01.01": 3.0, "A/X.02.01": 4.0, "A/X.04.01": 40.0}
    assert order(schedule(items, measured)) == ["A/X.04.01", "A/X.02.01", "A/X.03.01", "A/X.01.01"]


def test_measured_durations_reads_the_latest_runs(tmp_path):
    import os

    from segur_helpers.batch.plan import measured_durations

    old, new, broken = tmp_path / "r1", tmp_path / "r2", tmp_path / "r3"
    for folder in (old, new, broken):
        folder.mkdir()
    (old / "run.json").write_text(json.dumps({"proofs": [{"scenario": "A/X.01.01", "duration_s": 9.0},
                                                         {"scenario": "A/X.02.01", "duration_s": 2.0}]}))
    (new / "run.json").write_text(json.dumps({"proofs": [{"scenario": "A/X.01.01", "duration_s": 5.5}]}))
    (broken / "run.json").write_text("{not json")
    os.utime(old / "run.json", (1_000, 1_000))
    assert measured_durations(tmp_path) == {"A/X.01.01": 5.5, "A/X.02.01": 2.0}
    assert measured_durations(tmp_path / "none") == {}


def test_a_proof_that_stops_a_service_never_runs_beside_its_users():
    import asyncio

    from segur_helpers.batch.gate import Gate, conflicts

    outage = _planned("D/P.01.01", tags=["dmp"], disrupts=["dmp"])
    user = _planned("D/U.01.01", tags=["dmp", "consultation"])
    other = _planned("S/I.01.01", tags=["comptes"])
    justified = _planned("D/J.01.01", tags=["dmp"], applicable=False)
    assert conflicts(outage, user) and conflicts(user, outage)
    assert not conflicts(outage, other) and not conflicts(user, other)
    assert not conflicts(outage, justified)          # a justification does not touch the target

    async def scenario():
        gate = Gate([outage, user, other])
        first, second = await gate.take(), await gate.take()
        assert (first, second) == (outage, other)   # the DMP user waits, the unrelated proof goes on
        third = asyncio.ensure_future(gate.take())
        await asyncio.sleep(0.05)
        assert not third.done()
        await gate.release(other)
        await asyncio.sleep(0.05)
        assert not third.done()                      # still blocked by the outage
        await gate.release(outage)
        assert await asyncio.wait_for(third, 1) == user
        await gate.release(user)
        assert await gate.take() is None

    asyncio.run(scenario())


def test_a_whole_state_reader_never_runs_beside_a_writer_of_that_state():
    import asyncio

    from segur_helpers.batch.gate import Gate, conflicts

    review = _planned("S/R.01.01", reads_all=["accounts"])       # counts every account
    review2 = _planned("S/Q.01.01", reads_all=["accounts"])
    creator = _planned("S/C.01.01", writes=["accounts"])          # creates accounts
    creator2 = _planned("S/D.01.01", writes=["accounts"])
    patients = _planned("D/P.01.01", writes=["patients"])
    justified = _planned("S/J.01.01", writes=["accounts"], applicable=False)
    assert conflicts(review, creator) and conflicts(creator, review)
    assert not conflicts(review, review2) and not conflicts(creator, creator2)   # readers together, writers too
    assert not conflicts(review, patients) and not conflicts(review, justified)

    async def scenario():
        gate = Gate([review, creator, patients, creator2, review2])
        assert [await gate.take(), await gate.take()] == [review, patients]    # the creators wait
        waiting = asyncio.ensure_future(gate.take())
        await asyncio.sleep(0.05)
        assert waiting.done() and waiting.result() is review2                  # another reader may go
        blocked = asyncio.ensure_future(gate.take())
        await gate.release(review)
        await asyncio.sleep(0.05)
        assert not blocked.done()                                              # review2 still reads
        await gate.release(review2)
        assert await asyncio.wait_for(blocked, 1) is creator
        assert await gate.take() is creator2                                   # writers together

    asyncio.run(scenario())


def test_the_catalogue_declares_who_reads_and_who_writes_the_accounts():
    from segur_helpers import catalog
    from segur_helpers.batch.gate import conflicts
    from segur_helpers.batch.plan import Planned

    def planned(rid):
        req = catalog.get(rid)
        return Planned(req, req.scenarios[0], True)

    for reader in ("SSI/IAM.87", "SSI/IAM.94"):
        for writer in ("SSI/IE.31", "SSI/IE.32", "SSI/IAM.83", "SSI/IAM.85"):
            assert conflicts(planned(reader), planned(writer)), (reader, writer)
    assert not conflicts(planned("SSI/IAM.87"), planned("SSI/IAM.94"))
    assert not conflicts(planned("SSI/IE.31"), planned("SSI/IE.32"))
    assert not conflicts(planned("SSI/IAM.87"), planned("DMP/UX.15"))


def test_catalogue_scheduling_fields_are_checked():
    from segur_helpers.catalog import _parse

    entry = {"title": "t", "chapter": "C", "summary": "s",
             "scenarios": [{"number": 1, "title": "t", "notebook": "x.ipynb", "proofs": ["p"]}]}
    ok = _parse({"A/X.01": entry})["A/X.01"].scenarios[0]
    assert ok.expected_s is None and ok.disrupts == ()
    import copy

    import pytest
    for bad in ({"expected_s": "long"}, {"expected_s": -1}, {"disrupts": "dmp"}, {"disrupts": [1]},
                {"reads_all": "accounts"}, {"writes": [None]}):
        e = copy.deepcopy(entry)
        e["scenarios"][0].update(bad)
        with pytest.raises(ValueError, match=next(iter(bad))):
            _parse({"A/X.01": e})


def test_a_threads_exporter_renders_every_notebook_as_a_new_one_would():
    """The proof export keeps one nbconvert exporter per thread (its templates compile once): reusing it
    must not carry anything from one proof to the next, and another thread gets its own."""
    import threading

    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from segur_helpers.export import _exporter, _new_exporter, notebook_body_html

    def notebook(title: str, card: str, hidden: str) -> nbformat.NotebookNode:
        params = new_code_cell(f"secret_ref = '{hidden}'", metadata={"tags": ["parameters"]})
        shown = new_code_cell("show()", outputs=[new_output("display_data", data={"text/html": card})])
        live = new_code_cell("live()", outputs=[new_output("display_data", data={"text/html": f"<p>{hidden}</p>"},
                                                           metadata={"tags": ["segur-live"]})])
        return new_notebook(cells=[params, new_markdown_cell(f"# {title}\n\nUn *paragraphe*."), shown, live],
                            metadata={"language_info": {"name": "python"}})

    nbs = [notebook("Preuve A", "<div class='segur-card'>carte A</div>", "cache-A"),
           notebook("Preuve B", "<table><tr><td>carte B</td></tr></table>", "cache-B")]
    fresh = [_new_exporter().from_notebook_node(nb)[0] for nb in nbs]
    assert all("cache-" not in html for html in fresh) and "carte A" in fresh[0] and "carte B" in fresh[1]
    assert [notebook_body_html(nb) for nb in nbs + nbs[::-1]] == fresh + fresh[::-1]
    mine, other = _exporter(), []
    worker = threading.Thread(target=lambda: other.append(_exporter()))
    worker.start()
    worker.join()
    assert other[0] is not mine and _exporter() is mine
