"""DMP capability: the toolkit's own access to the DMP the target talks to (consultation and feeding).

In a referencing campaign this is the DMP test platform or a simulator; the demo uses
``demo_dpi.dmp_sim`` (FHIR DocumentReference shaped). The toolkit uses it to *prepare* a situation
(a third party adds a document, the patient deletes one) and to *observe* what reached the DMP; the
target's own behaviour is always shown through the target's screens.

Every method returns a :class:`DmpExchange` (request and response as sent/received) that the caller
keeps as evidence with ``proof.recorder.exchange(x.request, x.response, caption)``.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

from .base import Capability

INS_NIR_TEST_OID = "1.2.250.1.213.1.4.10"
INS_NIA_TEST_OID = "1.2.250.1.213.1.4.11"
RPPS_OID = "1.2.250.1.71.4.2.1"


@dataclass
class DmpExchange:
    """One HTTP exchange with the DMP: ``request``/``response`` dicts for the evidence, ``status`` the
    HTTP code, ``body`` the decoded JSON answer (or None)."""

    request: dict[str, Any]
    response: dict[str, Any]
    status: int
    body: Any = None


@dataclass
class DmpDocument:
    """A document as the DMP knows it (what a search returns)."""

    id: str
    unique_id: str
    status: str
    type_code: str
    type_display: str
    date: str
    author: str = ""
    custodian: str = ""
    security: list[str] = field(default_factory=list)
    deleted_by: str = ""


class Dmp(Capability):
    """The DMP seen from the toolkit (not from the target)."""

    @abc.abstractmethod
    async def health(self) -> DmpExchange:
        """Is the DMP reachable? Evidence: the exchange."""

    @abc.abstractmethod
    async def submit(self, *, unique_id: str, ins: str, ins_oid: str, type_code: str, type_display: str,
                     date: str, author_rpps: str, author_name: str, custodian_id: str, custodian_name: str,
                     title: str, cda: bytes, confidentiality: str = "N", visibility: tuple[str, ...] = ()
                     ) -> DmpExchange:
        """A third-party producer (outside the target's structure) adds a document to the patient's DMP."""

    @abc.abstractmethod
    async def search(self, ins: str, ins_oid: str, *, unique_id: str | None = None, since: str | None = None
                     ) -> tuple[DmpExchange, list[DmpDocument]]:
        """The patient's documents (or the one with ``unique_id``), whatever their status."""

    @abc.abstractmethod
    async def delete_as_patient(self, unique_id: str) -> DmpExchange:
        """The patient deletes a document from their DMP (Mon espace santé)."""

    @abc.abstractmethod
    async def transactions(self, since: int = 0) -> tuple[DmpExchange, list[dict[str, Any]]]:
        """The transactions the DMP received after sequence ``since`` (to show one did or did not arrive)."""
