"""Steps of the synthetic proofs used by the tests and the benchmark only (never a real requirement).

A synthetic proof records one step against a target (any HTTP server) and checks it; its campaign
data chooses how it behaves, so one small notebook exercises every fault the batch must survive:
``mode: ok | fail | raise | raise_cell | hang | kill | diskfull | ping | cut_hang | uses_service | mail``
(``broken_while: PATH`` applies the mode only while that file exists), ``sleep: seconds``, ``shots: n``
full-page screenshots. ``cut_hang`` stops the target's shared service and hangs (as a DMP/ALI/PROG.01 whose
kernel is killed before it restores the DMP); ``uses_service`` checks the service is up; ``mail`` waits for a
message that never comes in the campaign's mailbox.
"""
from __future__ import annotations

import asyncio
import errno
import os
import signal
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

from segur_helpers.drivers import Driver
from segur_helpers.drivers.base import Capability
from segur_helpers.proof import Proof, check_reachable, step


class Service(Capability):
    """The synthetic target's shared service (the fault tests' stand-in for the DMP)."""

    def _post(self, action: str) -> None:
        url = self.driver.ctx.campaign.target_url.rstrip("/") + f"/service/{action}"
        with urllib.request.urlopen(urllib.request.Request(url, method="POST", data=b""), timeout=10):
            pass

    async def cut(self) -> None:
        await asyncio.to_thread(self._post, "stop")

    async def restore(self) -> None:
        """Restart the service (works without start(), harmless when it is up)."""
        await asyncio.to_thread(self._post, "start")

    def up(self) -> bool:
        url = self.driver.ctx.campaign.target_url.rstrip("/") + "/service"
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return r.status == 200
        except OSError:
            return False


class SyntheticDriver(Driver):
    """Only the shared service: the synthetic steps otherwise use the browser and the recorder."""
    name = "synthetic"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.service = Service(self)
        from segur_helpers.drivers.mailboxes import mailbox_from_params
        self.mailbox = mailbox_from_params(self)   # the campaign's test mailbox, when it names one


def _mode(proof: Proof) -> str:
    data = proof.data
    flag = data.get("broken_while")
    if flag and not Path(flag).exists():
        return "ok"
    return data.get("mode", "ok")


def _long_page(n: int) -> str:
    rows = "".join(f"<tr><td>{i:04d}</td><td>TESTSEGUR{i}</td><td>Patient{i}</td><td>1.2.250.1.213.1.4.10</td>"
                   f"<td>{'Présent' if i % 3 else 'Sorti'}</td><td>Service de médecine {i % 7}</td></tr>"
                   for i in range(60))
    return (f"<html lang='fr'><body style='font-family:DejaVu Sans;margin:24px'><h1>Dossier patient — vue {n}</h1>"
            "<p>Liste des séjours de l'unité, triée par date d'entrée. Les identités sont des identités de test "
            "(INS qualifiée, OID de test).</p><table border=1 cellpadding=4 style='border-collapse:collapse'>"
            f"<tr><th>N°</th><th>Nom</th><th>Prénom</th><th>OID INS</th><th>Statut</th><th>Unité</th></tr>{rows}"
            "</table><p id='fin'>Fin de la liste.</p></body></html>")


@step(1, "Relevé synthétique")
async def releve(proof: Proof) -> None:
    mode = _mode(proof)
    if proof.data.get("sleep"):
        await asyncio.sleep(float(proof.data["sleep"]))
    if mode == "raise":
        raise RuntimeError("erreur volontaire du carnet synthétique")
    if mode == "hang":
        time.sleep(3600)            # blocks the kernel: only the whole-proof timeout can stop it
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "diskfull":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(proof.dir / "evidence"))
    if mode == "ping":
        await asyncio.to_thread(check_reachable, proof.campaign.target_url, 3.0)
    if mode == "cut_hang":
        await proof.driver.service.cut()
        time.sleep(3600)            # killed (timeout, interrupt) before it could restore the service
    service_down = mode == "uses_service" and not await asyncio.to_thread(proof.driver.service.up)
    if mode == "mail":              # a message the target never sends: NON CONFORME, unless the mailbox is broken
        message = await proof.driver.mailbox.wait_for("personne@synthetique.test", timeout=1)
        service_down = message is None
    shots = []
    for n in range(int(proof.data.get("shots", 0))):
        context = await proof.driver.new_context()
        try:
            page = await context.new_page()
            await page.set_content(_long_page(n + 1))
            view = SimpleNamespace(page=page, highlight="#fin", url=f"{proof.campaign.target_url}vue/{n + 1}",
                                   observed="Fin de la liste.")
            shots.append(await proof.screenshot(view, f"Vue {n + 1} du dossier"))
        finally:
            await context.close()
    item = proof.recorder.observation({"mode": mode, "requirement": proof.requirement.id}, "Relevé")
    failed = mode == "fail" or service_down
    proof.check("Le relevé synthétique est conforme", expected="conforme",
                observed=("service partagé arrêté" if service_down else "non conforme" if failed else "conforme"),
                passed=not failed, evidence=[item, *shots])


async def run(proof: Proof) -> None:
    if _mode(proof) == "raise_cell":
        raise ValueError("erreur volontaire hors étape")
    await releve(proof)
