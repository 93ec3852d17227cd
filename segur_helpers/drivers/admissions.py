"""Admissions capability: the hospital's admission feed into the product (IHE PAM, HL7 v2.5 ADT).

In a hospital the admission system (GAM) tells the DPI of each admission, discharge and cancellation;
the DPI answers each message with an acknowledgement. Here the toolkit plays that admission system: it
sends the product the ADT messages a scenario needs, for a test patient, and keeps both messages, as
sent and as received, for the proof (``.hl7`` evidence, see :meth:`Recorder.hl7
<segur_helpers.evidence.Recorder.hl7>`). The messages are made by :mod:`segur_helpers.hl7v2` from the
campaign's ``pam`` settings (address, sender and receiver names, and the provisional field of a minor's
connexion secrète); the transport is the driver's (MLLP for the demo, ``demo_dpi/driver/admissions.py``).

Only test patients may be handed to these methods (INS under 1.2.250.1.213.1.4.10 / .11): the
scenarios check this before calling (``segur_helpers.testpatients``), and a message only carries the
patient's INS as identifier.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass

from ..hl7v2 import Ack, read_ack
from .base import Capability


@dataclass
class Hl7Exchange:
    """FR : un message HL7 v2 envoyé au produit et l'acquittement reçu, chacun tel quel (octets du message,
    sans l'encadrement MLLP) : ``message`` et ``ack`` (vide si aucun acquittement n'est arrivé, ``error``
    dit alors pourquoi), ``address`` où il a été envoyé, ``event`` (A01, A04, A03, A11), ``control_id``
    (MSH-10), ``sent_at`` / ``received_at`` (ISO 8601, UTC).

    EN: one HL7 v2 message sent to the product and the acknowledgement received, each as is (the bytes of
    the message, without the MLLP framing): ``message`` and ``ack`` (empty when none arrived, ``error``
    then says why), ``address`` where it was sent, ``event``, ``control_id`` (MSH-10), ``sent_at`` /
    ``received_at`` (ISO 8601, UTC)."""

    message: bytes
    ack: bytes
    address: str
    event: str
    control_id: str
    sent_at: str = ""
    received_at: str = ""
    error: str = ""

    @property
    def acknowledgement(self) -> Ack:
        """MSA-1 code, MSA-2, MSA-3 text and ERR segments of ``ack``."""
        return read_ack(self.ack) if self.ack else Ack()

    @property
    def accepted(self) -> bool:
        return self.acknowledgement.code in ("AA", "CA")


class Admissions(Capability):
    """The admission feed into the product (``driver.admissions``)."""

    @abc.abstractmethod
    async def admit(self, patient: dict, *, visit: str, kind: str = "hospitalisation",
                    professional: dict | None = None, secret_connection: bool | None = None) -> Hl7Exchange:
        """FR : envoyer au produit l'admission du patient (``ADT^A01`` pour une hospitalisation, ``ADT^A04``
        pour une consultation externe), venue ``visit`` (PV1-19), professionnel responsable ``professional``
        (nom, prénom, RPPS) et, pour un mineur, sa demande de connexion secrète (``True``/``False`` ; ``None``
        : non recueillie, le champ est omis) dans le champ que nomme la campagne (``pam.secret_field``).
        Preuve : l'échange rendu, message et acquittement bruts (``.hl7``) que le scénario conserve.

        EN: send the product the patient's admission (``ADT^A01`` for a hospitalisation, ``ADT^A04`` for an
        external consultation), visit ``visit`` (PV1-19), admitting professional ``professional``, and for a
        minor the connexion secrète request (``None``: not collected, the field is left out) in the field
        the campaign names. Evidence: the returned exchange, raw message and acknowledgement (``.hl7``)."""

    @abc.abstractmethod
    async def discharge(self, patient: dict, *, visit: str) -> Hl7Exchange:
        """FR : envoyer la sortie du patient (``ADT^A03``) pour la venue ``visit``. Preuve : l'échange rendu,
        message et acquittement bruts.

        EN: send the patient's discharge (``ADT^A03``) for visit ``visit``. Evidence: the returned exchange,
        raw message and acknowledgement."""

    @abc.abstractmethod
    async def cancel_admission(self, patient: dict, *, visit: str, kind: str = "hospitalisation") -> Hl7Exchange:
        """FR : envoyer l'annulation de l'admission (``ADT^A11``) de la venue ``visit``. Preuve : l'échange
        rendu, message et acquittement bruts.

        EN: send the cancellation of the admission (``ADT^A11``) of visit ``visit``. Evidence: the returned
        exchange, raw message and acknowledgement."""
