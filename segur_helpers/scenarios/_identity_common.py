"""Helpers shared by the identity and access scenarios (SSI/IE.32, SSI/IAM.80, 83, 85, 87, 94)."""
from __future__ import annotations

from ..errors import UserError
from ..proof import Proof


def capability(proof: Proof, name: str):
    """The driver's capability ``name``; one clear error when the campaign's driver lacks it."""
    cap = getattr(proof.driver, name, None)
    if cap is None:
        raise UserError(f"the driver {proof.campaign.driver!r} has no {name!r} capability; expected one for "
                        f"{proof.requirement.id}", key="driver")
    return cap
