"""Helpers shared by the identity and access scenarios (SSI/IE.32, SSI/IAM.80, 83, 85, 87, 94)."""
from __future__ import annotations

from ..drivers.identity import Hop, mask_url
from ..errors import UserError
from ..evidence import esc
from ..proof import Proof


def capability(proof: Proof, name: str):
    """The driver's capability ``name``; one clear error when the campaign's driver lacks it."""
    cap = getattr(proof.driver, name, None)
    if cap is None:
        raise UserError(f"the driver {proof.campaign.driver!r} has no {name!r} capability; expected one for "
                        f"{proof.requirement.id}", key="driver")
    return cap


def show_hops(proof: Proof, hops: list[Hop], title: str):
    """The redirect chain the browser followed, as a table (codes and tokens masked) and an observation."""
    rows = "".join(f"<tr><td>{i}</td><td>{esc(h.method)}</td><td>{esc(mask_url(h.url))}</td><td>{h.status}</td>"
                   f"<td>{esc(mask_url(h.location))}</td></tr>" for i, h in enumerate(hops, 1))
    proof.recorder.show(f'<div class="segur-card"><h4>{esc(title)}</h4><table style="table-layout:fixed">'
                        f"<tr><th style='width:5%'>#</th><th style='width:8%'>Méthode</th><th style='width:44%'>URL"
                        f"</th><th style='width:7%'>Statut</th><th style='width:36%'>Redirection vers</th></tr>{rows}"
                        f'</table><div class="caption">Valeurs des paramètres code, state et jetons masquées.</div></div>')
    return proof.recorder.observation({"chaine": [h.to_dict() for h in hops]}, title)
