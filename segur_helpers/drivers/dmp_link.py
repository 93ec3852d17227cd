"""The ``dmp_link`` capability: cut and restore the link between the target and its DMP.

DMP/ALI/PROG.01 asks what the target does while the DMP cannot be reached (network cut, expired
certificate …): documents wait in a queue and leave by themselves once the DMP is back. A proof must
therefore make the DMP unreachable *for the target*, then reachable again. In a vendor's test
environment that may be stopping the DMP test double, blocking a route or a proxy; the demo stops
and restarts the DMP simulator's service. Each method returns the exchange that did it (evidence).
"""
from __future__ import annotations

import abc

from .base import Capability
from .dmp import DmpExchange


class DmpLink(Capability):
    """The target's connection to its DMP, as the toolkit can act on it."""

    @abc.abstractmethod
    async def cut(self) -> DmpExchange:
        """Make the DMP unreachable for the target (connections fail). Evidence: the exchange."""

    @abc.abstractmethod
    async def restore(self) -> DmpExchange:
        """Make the DMP reachable again. Evidence: the exchange."""
