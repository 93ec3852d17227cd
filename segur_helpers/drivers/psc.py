"""Pro Santé Connect (PSC): the product's sign-in through PSC and its reconciliation of accounts (PSC.01,
PSC.02, PSC.08, DMP/PSC.01), and PSC as the toolkit reaches it.

Three sides:

* :class:`Psc` (``driver.psc``), a capability of the *product's* driver: its sign-in page, the way to
  PSC and back in a real browser (the redirect chain is recorded, codes and tokens masked, see
  :func:`segur_helpers.drivers.identity.mask_url`), what the product then shows (who is signed in,
  how, the PSC claims it used, the practice situations), its logout, and a patient's file opened
  under the PSC session (DMP consultation).
* :class:`PscReconciliation` (``driver.psc_reconciliation``): the administrator's view of the links
  between local accounts and PSC identities.
* :class:`PscProvider`: PSC (or its test platform) as the toolkit reaches it: discovery document, and
  for the negative tests a test switch that makes the next ID token carry another audience, a lower
  eIDAS level or another subject. A campaign names it in ``data.psc.kind`` (the
  ``segur.identity_providers`` entry points; the demo registers ``demo-psc``).
"""
from __future__ import annotations

import abc
import re
from dataclasses import dataclass, field

from ..errors import UserError
from .base import Capability, View
from .identity import FederatedSession, Hop, IdentityProvider
from .patients import ActionView, PatientFileView, PatientRef

#: PSC's discovery document path, relative to its issuer (ANS's Keycloak connector, ``psc.properties``).
PSC_DISCOVERY_PATH = "/.well-known/wallet-openid-configuration"


@dataclass
class SignInPage(View):
    """The product's sign-in page. ``local_login``: it offers its own sign-in; ``psc_button``: it offers
    « Se connecter avec Pro Santé Connect »; ``means``: the texts presenting each means, as written."""

    local_login: bool = False
    psc_button: bool = False
    means: list[str] = field(default_factory=list)


@dataclass
class PscSession(FederatedSession):
    """The product's screen after coming back from PSC (see :class:`FederatedSession`: ``session_open``,
    ``claims``, ``refused``, ``reason``, ``hops``). Also: ``who`` the user the product says is signed
    in, ``how`` how it says they signed in (means and eIDAS level), ``account`` the product's identifier
    of the account, ``account_rpps`` that account's RPPS number as shown, ``practice`` the practice
    situations shown (one line each), ``reconciliation`` what the product says about the link between
    the account and the PSC identity ('' if nothing), ``reconciliation_offered`` true when, instead of
    refusing an unknown professional, the product sends them to reconcile an account."""

    who: str = ""
    how: str = ""
    account: str = ""
    account_rpps: str = ""
    practice: list[str] = field(default_factory=list)
    reconciliation: str = ""
    reconciliation_offered: bool = False


@dataclass
class PscStart(View):
    """Where choosing PSC on the product's sign-in page led: ``at_provider`` PSC asks the professional to
    authenticate (its page is the view); otherwise PSC answered at once (an open PSC session) and
    ``session`` is the product's screen after the return."""

    at_provider: bool = False
    session: PscSession | None = None


@dataclass
class LogoutView(View):
    """The screen after the product's logout; ``hops`` the redirect chain since the logout was asked."""

    hops: list[Hop] = field(default_factory=list)


@dataclass
class SessionState(View):
    """A screen of the product reserved to signed-in professionals, opened in the same browser:
    ``session_open`` when it is shown to the professional (not sent back to the sign-in page)."""

    session_open: bool = False


@dataclass
class LinksView(View):
    """The administrator's screen of links between local accounts and PSC identities, for one RPPS number.
    ``account_found``: a local account holds it; ``links``: ``{"sub", "idnat", "rpps", "linked_at"}`` of
    each link of that account; ``refusals``: ``{"sub", "idnat", "detail", "at"}`` of refused sign-ins
    claiming it."""

    account_found: bool = False
    links: list[dict] = field(default_factory=list)
    refusals: list[dict] = field(default_factory=list)


class Psc(Capability):
    """The product's sign-in with Pro Santé Connect, web mode (browser)."""

    @abc.abstractmethod
    async def sign_in_page(self) -> SignInPage:
        """FR: dans un nouveau navigateur (sans session), ouvrir la page de connexion des professionnels.
        Preuve : la page, le bloc qui présente les moyens de connexion surligné ; ``local_login`` et
        ``psc_button`` disent si la connexion propre au produit et « Se connecter avec Pro Santé Connect »
        y sont proposés, ``means`` les textes qui présentent chaque moyen.

        EN: in a fresh browser (no session), open the professionals' sign-in page. Evidence: the page with
        the block offering the sign-in means highlighted; ``local_login`` and ``psc_button`` say whether
        the product's own sign-in and « Se connecter avec Pro Santé Connect » are offered, ``means`` the
        texts presenting each means."""

    @abc.abstractmethod
    async def start(self, *, same_browser: bool = False) -> PscStart:
        """FR: choisir « Se connecter avec Pro Santé Connect » sur la page de connexion, dans un nouveau
        navigateur, ou dans celui de la connexion précédente si ``same_browser`` (pour montrer qu'après la
        déconnexion PSC redemande l'authentification). Preuve : la page de PSC, son formulaire surligné
        (``at_provider``), ou l'écran du produit si PSC a répondu sans rien demander (``session``).

        EN: choose « Se connecter avec Pro Santé Connect » on the sign-in page, in a fresh browser or, with
        ``same_browser``, in the browser of the previous sign-in (to show that after logout PSC asks for
        authentication again). Evidence: PSC's page with its form highlighted (``at_provider``), or the
        product's screen when PSC answered without asking anything (``session``)."""

    @abc.abstractmethod
    async def sign_in(self, username: str, password: str) -> PscSession:
        """FR: sur la page de PSC ouverte par :meth:`start`, s'authentifier avec le moyen de test (carte CPS
        ou e-CPS de test : identifiant et code) ; rendre l'écran du produit au retour. Preuve : l'écran,
        les éléments de l'identité utilisés surlignés, ou le refus ; la chaîne des redirections depuis
        :meth:`start`.

        EN: on PSC's page opened by :meth:`start`, authenticate with the test means (test CPS card or
        e-CPS: identifier and code); return the product's screen after the return. Evidence: the screen
        with the identity elements used highlighted, or the refusal; the redirect chain since :meth:`start`."""

    @abc.abstractmethod
    async def logout(self) -> LogoutView:
        """FR: se déconnecter du produit dans le navigateur de la session ouverte. Preuve : l'écran final
        et la chaîne des redirections (fin de session auprès de PSC comprise, jetons masqués).

        EN: log out of the product in the signed-in browser. Evidence: the final screen and the redirect
        chain (including the end of the session at PSC, tokens masked)."""

    @abc.abstractmethod
    async def protected_page(self) -> SessionState:
        """FR: dans le même navigateur, ouvrir un écran réservé aux professionnels connectés. Preuve :
        l'écran obtenu, le professionnel connecté surligné s'il est affiché ; ``session_open``.

        EN: in the same browser, open a screen reserved to signed-in professionals. Evidence: the screen
        reached, with the signed-in professional highlighted when shown; ``session_open``."""

    @abc.abstractmethod
    async def open_patient_file(self, patient: PatientRef) -> PatientFileView:
        """FR: sous la session PSC, ouvrir le dossier du patient (le produit consulte le DMP). Preuve :
        comme :meth:`Patients.open_file`.

        EN: under the PSC session, open the patient's file (the product consults the DMP). Evidence: as
        :meth:`Patients.open_file`."""

    @abc.abstractmethod
    async def consult_dmp(self, patient: PatientRef) -> ActionView:
        """FR: sous la session PSC, demander la consultation du DMP du patient. Preuve : la réponse du
        produit surlignée ; ``accepted`` si le DMP a été consulté.

        EN: under the PSC session, ask for the patient's DMP. Evidence: the product's answer highlighted;
        ``accepted`` when the DMP was consulted."""


class PscReconciliation(Capability):
    """The reconciliation of local accounts with PSC identities, as the administrator sees it."""

    attribute = "psc_reconciliation"

    @abc.abstractmethod
    async def links(self, rpps: str) -> LinksView:
        """FR: en administrateur, afficher les rapprochements du compte local qui porte ce n° RPPS et les
        refus journalisés. Preuve : l'écran, la liste des rapprochements surlignée.

        EN: as the administrator, show the links of the local account holding this RPPS number and the
        refusals logged. Evidence: the screen with the list of links highlighted."""

    @abc.abstractmethod
    async def undo(self, rpps: str) -> LinksView:
        """FR: en administrateur, défaire tout rapprochement du compte qui porte ce n° RPPS (état initial
        d'une preuve rejouée). Preuve : l'écran après coup.

        EN: as the administrator, undo any link of the account holding this RPPS number (the initial state
        of a replayed proof). Evidence: the screen afterwards."""


class PscProvider(IdentityProvider):
    """Pro Santé Connect as the toolkit reaches it (``data.psc`` in the params): ``issuer``,
    ``discovery_path`` (default PSC's), ``kind``, and the test switch's credentials."""

    def __init__(self, conf: dict, *, secrets, where: str = "data.psc"):
        super().__init__(conf, secrets=secrets, where=where)

    @property
    def discovery_url(self) -> str:
        return self.issuer + str(self.conf.get("discovery_path") or PSC_DISCOVERY_PATH)

    @abc.abstractmethod
    def issue_wrong_audience(self, audience: str, login: str = "") -> dict:
        """Have PSC issue the next ID token (for ``login``) with ``audience`` instead of the product's
        client id; returns an exchange record (request/response, no credentials)."""

    @abc.abstractmethod
    def issue_lower_acr(self, acr: str, login: str = "") -> dict:
        """Have PSC issue the next ID token (for ``login``) with the level ``acr``."""

    @abc.abstractmethod
    def issue_other_subject(self, sub: str, login: str = "") -> dict:
        """Have PSC issue the next identity (for ``login``) under another subject ``sub``: a second PSC
        identity presenting the same national identifier."""


def psc_provider(conf: dict, *, secrets, where: str = "data.psc") -> PscProvider:
    """The campaign's PSC (``kind``: a registered name of ``segur.identity_providers`` or module:Class)."""
    from . import IDENTITY_PROVIDERS_GROUP, load_registered, registered

    if not isinstance(conf, dict):
        raise UserError("expected a mapping (issuer, kind, test_switch)", key=where)
    kind = str(conf.get("kind", "demo-psc"))
    names = registered(IDENTITY_PROVIDERS_GROUP)
    target = names.get(kind, kind)
    if not re.fullmatch(r"[\w.]+:\w+", target):
        raise UserError(f"{kind!r}; expected {' or '.join(sorted(names)) or 'a registered name'} or module:Class",
                        key=f"{where}.kind")
    cls = load_registered(target, file=None, key=f"{where}.kind")
    if not (isinstance(cls, type) and issubclass(cls, PscProvider)):
        raise UserError(f"{target!r} is not a subclass of segur_helpers.drivers.psc.PscProvider", key=f"{where}.kind")
    return cls(conf, secrets=secrets, where=where)
