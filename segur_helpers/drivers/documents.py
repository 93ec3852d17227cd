"""The ``documents`` capability: a physician's documents in the target (write, review, validate, send).

Used by the document-circuit requirements (HOP VA 1.04 / 1.06), DMP feeding (DMP/ALI/PROG.01), CDA R2
N1 conformity and MSSanté (MSS/CONF.16). A vendor implements it over its own screens; every method
returns a :class:`~segur_helpers.drivers.base.View` whose highlighted element is what the proof is about.

``document`` dictionaries come from the campaign params (``data.document``)::

    {patient: INS of a test patient, type: document type as the product names it (e.g. "Lettre de
     liaison de sortie"), title, content, author: {nom, prenom, rpps}}
"""
from __future__ import annotations

import abc
import asyncio
import time
from dataclasses import dataclass, field

from .base import Capability, View

#: Normalised states of a document's DMP send (what :attr:`DocumentView.dmp_state` may hold).
DMP_STATES = {
    "none": "envoi au DMP non demandé",
    "requested": "envoi demandé, document pas encore validé",
    "scheduled": "envoi programmé (tâche de fond)",
    "queued": "en attente (DMP injoignable)",
    "sent": "envoyé au DMP",
    "cancelled": "envoi annulé",
    "failed": "échec de l'envoi, abandonné",
}


@dataclass
class DocumentRef:
    """A document in the target: its identifier there, and the patient's INS."""

    id: str
    patient: str
    title: str = ""
    type: str = ""
    unique_id: str = ""   # the document's unique identifier, as it is known in the DMP


@dataclass
class DocumentFormView(View):
    """The filled document form, before saving. ``send_to_dmp`` is the "send to DMP" control as the
    product set it (the scenario never touches it)."""

    send_to_dmp: bool = False


@dataclass
class DocumentView(View):
    """A document's screen. ``status``: the workflow status as displayed; ``validated``: it is validated;
    ``can_validate``: the screen offers to validate now; ``dmp_state``: one of :data:`DMP_STATES`; ``dmp_text``: the DMP send as displayed (with its reason);
    ``elapsed_ms``: how long the screen took to come back after the action that led to it."""

    status: str = ""
    validated: bool = False
    can_validate: bool = False
    dmp_state: str = "none"
    dmp_text: str = ""
    elapsed_ms: float | None = None


@dataclass
class WorkflowStage:
    """One stage of the documented document circuit: its title, its actors, its description."""

    title: str
    actors: str
    text: str


@dataclass
class WorkflowDocView(View):
    """The documentation of the document circuit as the user reads it. ``stages`` in reading order;
    ``source``: the documentation as delivered (HTML page, PDF …) kept as evidence; ``source_ext`` its
    file extension."""

    stages: list[WorkflowStage] = field(default_factory=list)
    source: bytes = b""
    source_ext: str = "html"


class Documents(Capability):
    """A physician's documents, from writing to sending."""

    @abc.abstractmethod
    async def open_new(self, document: dict) -> DocumentFormView:
        """Open the screen for writing a new document and fill it (patient, type, title, content,
        author) without touching the "send to DMP" control; highlight that control."""

    @abc.abstractmethod
    async def save(self, form: DocumentFormView) -> DocumentRef:
        """Save the form opened by :meth:`open_new` as a draft."""

    @abc.abstractmethod
    async def show(self, doc: DocumentRef, focus: str = "status") -> DocumentView:
        """Open the document's screen; highlight its workflow status (``focus="status"``) or its DMP
        send status (``focus="dmp"``)."""

    @abc.abstractmethod
    async def validate(self, doc: DocumentRef) -> DocumentView:
        """As the author, validate the document (a type without review goes straight from draft to
        validation); return the screen shown right after, with ``elapsed_ms``, DMP status highlighted."""

    @abc.abstractmethod
    async def cancel_dmp_send(self, doc: DocumentRef) -> DocumentView:
        """As the user, cancel this document's pending DMP send; return the screen shown after."""

    @abc.abstractmethod
    async def fetch_cda(self, doc: DocumentRef) -> bytes:
        """The CDA R2 document the target produced for the validated document, as the user downloads it."""

    @abc.abstractmethod
    async def send_mss(self, doc: DocumentRef, to: str) -> DocumentView:
        """Send the validated document through MSSanté to ``to``; return the screen shown after."""

    @abc.abstractmethod
    async def documentation_entry(self) -> View:
        """The application screen where the user finds the documentation of the document circuit;
        highlight the link or menu entry that opens it."""

    @abc.abstractmethod
    async def open_documentation(self) -> WorkflowDocView:
        """Follow that link (as the user would) and read the documentation: its stages and actors."""

    async def wait_dmp_state(self, doc: DocumentRef, states: tuple[str, ...], timeout: float = 30.0,
                             interval: float = 0.5) -> DocumentView:
        """Reopen the document's screen until its DMP send is in one of ``states`` (or ``timeout``
        seconds passed); the last screen is returned either way (DMP status highlighted). Only reads
        the screen: it is no user action on the document."""
        deadline = time.monotonic() + timeout
        while True:
            view = await self.show(doc, focus="dmp")
            if view.dmp_state in states or time.monotonic() >= deadline:
                return view
            await asyncio.sleep(interval)
