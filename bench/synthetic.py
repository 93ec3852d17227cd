"""A synthetic catalogue, notebook and campaign for the tests and the benchmark (clearly not the REM).

``make_synthetic(folder, url, n)`` writes ``folder/requirements/synthetic.yaml`` (requirements
``SYN/T.001``…, or of the given ids), ``folder/synthetic.ipynb`` and ``folder/campaign.yaml``; set
``SEGUR_CATALOG_EXTRA=folder`` for the toolkit (and its kernels) to know them.
"""
from __future__ import annotations

import http.server
import threading
from pathlib import Path

import nbformat
import yaml

PASSWORD_ENV = "DEMO_DPI_ADMIN_PASSWORD"


def notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('campaign = ""\nrequirement = ""\nrun_dir = ""\nrun_id = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_markdown_cell("# Preuve synthétique\n\nCarnet de test du lot (banc de mesure et tests) : "
                                      "il enregistre une seule étape et une vérification."),
        nbformat.v4.new_code_cell("from segur_helpers import open_proof\nfrom bench import synthetic_steps as s\n\n"
                                  "proof = await open_proof(campaign, requirement, run_dir=run_dir, run_id=run_id)"),
        nbformat.v4.new_markdown_cell("## Étape 1 — relevé"),
        nbformat.v4.new_code_cell("await s.run(proof)"),
        nbformat.v4.new_code_cell("await proof.close()"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def make_synthetic(folder: Path, url: str, n: int = 10, *, data: dict | None = None, ids: list[str] | None = None,
                   campaign: str = "synthetic", timeouts: dict | None = None, families: int = 1,
                   disrupt: tuple[str, ...] = (), service_users: tuple[str, ...] = ()) -> Path:
    """Write the synthetic catalogue, notebook and a campaign of ``n`` proofs; returns the params path.
    ``data`` maps a requirement id to its data (mode, sleep, shots …). The requirements of ``disrupt`` interrupt
    the target's ``svc`` service (catalogue ``disrupts``/``restores``, as DMP/ALI/PROG.01 does the DMP), those
    of ``service_users`` use it (tag ``svc``: never run beside a disrupting one)."""
    folder = Path(folder)
    (folder / "requirements").mkdir(parents=True, exist_ok=True)
    ids = ids or [f"{'SYN' if i % families == 0 else 'TST'}/T.{i + 1:03d}" for i in range(n)]
    reqs = {}
    for i, rid in enumerate(ids):
        reqs[rid] = {"title": f"Exigence synthétique {rid}", "chapter": rid.split("/")[0] + "/T",
                     "function": "Banc de mesure", "conditional": False, "condition": "",
                     "summary": "Exigence de test du lot (aucune exigence réelle du REM).",
                     "tags": ["synthetique", "pair" if i % 2 == 0 else "impair"] + (["svc"] if rid in service_users
                                                                                    else []),
                     "scenarios": [{"number": 1, "notebook": "synthetic.ipynb", "title": "Relevé synthétique",
                                    "proofs": ["Le relevé synthétique est enregistré et conforme."]}]}
        if rid in disrupt:
            reqs[rid]["scenarios"][0].update(disrupts=["svc"], restores={"svc": "service.restore"})
    (folder / "requirements" / "synthetic.yaml").write_text(yaml.safe_dump(reqs, allow_unicode=True),
                                                            encoding="utf-8")
    nbformat.write(notebook(), str(folder / "synthetic.ipynb"))
    params = {"campaign": campaign, "vendor": "Éditeur de test", "product": {"name": "Produit synthétique",
              "version": "1.0"}, "operator": "Banc de mesure", "target": {"url": url, "admin": {
              "username": "admin", "password": f"env:{PASSWORD_ENV}"}},
              "driver": "bench.synthetic_steps:SyntheticDriver",
              "timeouts": timeouts or {"step_s": 60, "proof_s": 120},
              "requirements": {rid: {"data": (data or {}).get(rid, {})} for rid in ids}}
    path = folder / "campaign.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return path


class _Quiet(http.server.SimpleHTTPRequestHandler):
    """Any GET answers a page; ``/service`` says whether the target's shared service is up (200) or not
    (503), and ``POST /service/stop|start`` stops and starts it (the synthetic DMP of the fault tests)."""

    def log_message(self, *a):  # noqa: D401
        pass

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        if self.path.rstrip("/").endswith("/service"):
            up = self.server.service_up
            self._answer(200 if up else 503, b"up" if up else b"down")
            return
        self._answer(200, b"<html><body>cible synthetique</body></html>")

    def do_POST(self):  # noqa: N802
        if self.path.endswith("/service/stop") or self.path.endswith("/service/start"):
            self.server.service_up = self.path.endswith("/start")
            self.server.service_calls.append(self.path.rsplit("/", 1)[1])
            self._answer(200, b"ok")
            return
        self._answer(404, b"")


class Target:
    """A tiny HTTP target on 127.0.0.1 (a free port) that can be stopped mid-run."""

    def __init__(self, port: int = 0) -> None:
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Quiet)
        self.server.service_up = True
        self.server.service_calls = []
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def service_up(self) -> bool:
        return self.server.service_up

    @property
    def service_calls(self) -> list[str]:
        return self.server.service_calls

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
