"""Statistics capability: the usage statistics the target reports, and the raw data behind them.

For STAT/ES 01.01 the toolkit recomputes the target's DMP usage rates from the raw external
consultations; the driver supplies both sides in a fixed shape so the recomputation is the same for
every product.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field

from .base import Capability, View

# The raw extract's columns (CSV, comma separated, header line first), whatever the product's own layout:
EXTRACT_COLUMNS = ("consultation_id", "date", "information", "consentement", "documents_dmp_integres")
# date: YYYY-MM-DD of the external consultation; information: 1 if the patient was informed about the
# DMP, else 0; consentement: accord | opposition | non_recueilli; documents_dmp_integres: number of
# documents integrated into the DPI from the DMP during that consultation.


@dataclass
class StatsView(View):
    """The target's statistics screen. ``rows``: month (YYYY-MM, and ``total`` for the period) →
    ``{"n": consultations, "k1": with a DMP document integrated, "k2": with consent, "k3": with refusal}``."""

    rows: dict[str, dict[str, int]] = field(default_factory=dict)


class Statistics(Capability):
    @abc.abstractmethod
    async def dmp_usage(self, start: str, end: str) -> StatsView:
        """Open the DMP usage statistics for the period [start, end] (YYYY-MM-DD); highlight the table."""

    @abc.abstractmethod
    async def external_consultations(self, start: str, end: str) -> bytes:
        """The raw external consultations of the period as CSV with :data:`EXTRACT_COLUMNS`."""
