"""Patients capability: patient files, care episodes and their DMP consent, DMP documents in the target.

Every method acts *in the target's screens* as a named professional (``pro``: a mapping with at least
``nom`` and ``rpps``), so the evidence shows what that professional sees. Views returned leave the
page on the screen a reviewer must look at, with ``highlight`` the element the proof is about.

Only test patients may be handed to these methods (INS under 1.2.250.1.213.1.4.10 / .11); the
scenarios check this before calling (``segur_helpers.testpatients``).
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field

from .base import Capability, View


@dataclass
class PatientRef:
    """A patient in the target: its identifier there, a label, its INS and the INS's OID."""

    id: str
    label: str
    ins: str
    ins_oid: str


@dataclass
class AdmissionView(View):
    """The form that opens a care episode. ``offers_secret_connection``: it asks the (minor) patient's
    secret-connection choice; ``offers_consent``: it asks information and DMP non-opposition;
    ``secret_answer``: the secret-connection answer the form shows as entered ('' if none)."""

    offers_secret_connection: bool = False
    offers_consent: bool = False
    secret_answer: str = ""


@dataclass
class PatientFileView(View):
    """The patient file as a professional sees it when it opens (no click after opening).

    ``secret_connection``: text of the secret-connection notice, '' if none is visible;
    ``episode``: text describing the current episode and its consent ('' if none);
    ``dmp_state``: ``ok`` (DMP queried), ``blocked`` (the target refused to query it), ``error``;
    ``dmp_message``: the refusal or error shown; ``new_documents``: the visible text of the
    "new documents since the last visit" information ('' if not visible without a click);
    ``new_counts``: documents by type in that information; ``dmp_unique_ids``: documents listed from
    the DMP; ``local_documents``: uniqueId → local identifier of the documents kept in the file;
    ``last_visit``: the date of the patient's last visit as shown ('' if none); ``areas``: selectors of
    the screen's parts a proof may point at (``identity``, ``episode``, ``new_documents``, ``dmp``,
    ``dmp_status`` (the refusal or error), ``local_documents``, ``last_visit``), used by :meth:`focus`."""

    secret_connection: str = ""
    episode: str = ""
    dmp_state: str = ""
    dmp_message: str = ""
    new_documents: str = ""
    new_counts: dict[str, int] = field(default_factory=dict)
    dmp_unique_ids: list[str] = field(default_factory=list)
    local_documents: dict[str, str] = field(default_factory=dict)
    last_visit: str = ""
    areas: dict[str, str] = field(default_factory=dict)

    def focus(self, area: str) -> "PatientFileView":
        """Point the screenshot's outline at one named part of the file (kept as is if unknown)."""
        self.highlight = self.areas.get(area, self.highlight)
        return self


@dataclass
class DocumentView(View):
    """A document of the file, opened. ``origin``: where it came from (DMP, local); ``deleted_notice``:
    text telling the user it was deleted in the DMP ('' if none); ``offers_local_delete``: the screen
    offers to delete the local copy."""

    origin: str = ""
    unique_id: str = ""
    deleted_notice: str = ""
    offers_local_delete: bool = False


@dataclass
class ActionView(View):
    """The outcome of an action (consult the DMP, send a document): ``accepted`` if it was carried out."""

    accepted: bool = False


class Patients(Capability):
    @abc.abstractmethod
    async def prepare(self, patient: dict) -> PatientRef:
        """Find or register the test patient (nom, prenom, naissance YYYY-MM-DD, sexe, ins, ins_oid) and
        close any episode left open, so the scenario starts from a known state. No evidence."""

    @abc.abstractmethod
    async def admission_form(self, patient: PatientRef, pro: dict, kind: str, *, answers: dict | None = None
                             ) -> AdmissionView:
        """As ``pro``, open the form that starts a care episode (``kind``: hospitalisation or consultation);
        highlight the secret-connection question if there is one, else the consent question.
        ``answers`` (the keywords of :meth:`admit`: ``information``, ``consent``, ``secret_connection``):
        enter them without submitting, so that the screen shows the question with its answer
        (``secret_answer``); :meth:`admit` with ``form=`` then submits that very form."""

    @abc.abstractmethod
    async def admit(self, patient: PatientRef, pro: dict, kind: str, *, information: bool, consent: str,
                    secret_connection: bool | None = None, form: AdmissionView | None = None) -> PatientFileView:
        """As ``pro``, start a care episode with its consent record (``consent``: accord, opposition or
        '' for not recorded; ``secret_connection`` for a minor); returns the file shown afterwards.
        ``form``: the form :meth:`admission_form` filled with these answers, submitted as it is."""

    @abc.abstractmethod
    async def discharge(self, patient: PatientRef, pro: dict) -> PatientFileView:
        """As ``pro``, end the current episode (patient's discharge / end of consultation)."""

    @abc.abstractmethod
    async def set_consent(self, patient: PatientRef, pro: dict, consent: str) -> PatientFileView:
        """As ``pro``, record the DMP consent of the current episode (accord, opposition, '')."""

    @abc.abstractmethod
    async def open_file(self, patient: PatientRef, pro: dict) -> PatientFileView:
        """As ``pro``, open the patient's file and read it without any click; highlight the DMP information."""

    @abc.abstractmethod
    async def consult_dmp(self, patient: PatientRef, pro: dict) -> ActionView:
        """As ``pro``, explicitly ask the target to consult the patient's DMP; highlight its answer."""

    @abc.abstractmethod
    async def integrate(self, patient: PatientRef, pro: dict, unique_id: str) -> PatientFileView:
        """As ``pro``, integrate the DMP document ``unique_id`` into the file."""

    @abc.abstractmethod
    async def open_document(self, patient: PatientRef, pro: dict, local_id: str) -> DocumentView:
        """As ``pro``, open a document of the file; highlight any DMP notice (else the document's origin)."""

    @abc.abstractmethod
    async def delete_local_copy(self, patient: PatientRef, pro: dict, local_id: str) -> PatientFileView:
        """As ``pro``, accept the offer to delete the local copy of a document (from its open screen)."""

    @abc.abstractmethod
    async def write_document(self, patient: PatientRef, pro: dict, title: str, text: str) -> DocumentView:
        """As ``pro``, write a document in the file (for a feeding attempt); returns it opened."""

    @abc.abstractmethod
    async def send_to_dmp(self, patient: PatientRef, pro: dict, local_id: str) -> ActionView:
        """As ``pro``, send a document of the file to the DMP; highlight the target's answer."""
