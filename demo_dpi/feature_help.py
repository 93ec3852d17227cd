"""User documentation of demo_dpi for the care screens: ``/aide/dmp``, the DMP in the patient file.

What the page says is what the screens do (``feature_care``): when the DMP is queried, what the patient
file shows of it without a click, how to look for a document and integrate it, what is traced. It is
linked from every care screen's header (« Aide DMP ») and from the patient file's DMP part.
"""
from __future__ import annotations

AREA = "Aide"

DMP_HELP = """<h1>Aide — le DMP dans le dossier patient</h1>
<article id="dmp-help">
<section class="stage" id="dmp-help-when"><h2>Quand le DPI interroge le DMP</h2>
<p>À l'ouverture du dossier d'un patient, sans action de votre part, si l'épisode en cours porte la
non-opposition du patient à la consultation de son DMP. Sinon, le dossier l'indique dans sa partie
« DMP » (accès bloqué, et pourquoi).</p></section>
<section class="stage" id="dmp-help-see"><h2>Ce que le dossier montre sans clic</h2>
<p>Le statut de l'INS (qualifiée ou non) à côté du matricule ; le bandeau des nouveaux documents versés au
DMP par d'autres structures depuis la dernière venue du patient, comptés par type ; la liste des
documents du DMP avec leur date, leur type, leur titre, leur auteur et la structure qui les a versés.</p></section>
<section class="stage" id="dmp-help-search"><h2>Rechercher un document du DMP</h2>
<p>La liste « DMP » du dossier présente les documents disponibles : repérez un
document par sa date, son type, son auteur ou sa structure. Le lien « Consulter le DMP » refait la
consultation à la demande, par exemple après l'enregistrement du consentement du patient.</p></section>
<section class="stage" id="dmp-help-integrate"><h2>Intégrer un document au dossier</h2>
<p>Le bouton « Intégrer au dossier » copie le document dans le dossier du patient ; il figure ensuite
dans « Documents du dossier » avec l'origine « DMP », et la liste du DMP le marque « dans le dossier ».
À chaque ouverture de ce document, le DPI vérifie auprès du DMP qu'il n'y a pas été supprimé.</p></section>
<section class="stage" id="dmp-help-trace"><h2>Traçabilité</h2>
<p>Chaque consultation est faite sous votre identifiant national (n° RPPS de votre carte CPS ou de votre
identité Pro Santé Connect) : elle est tracée par le DMP et notifiée au patient dans Mon espace santé.
Ne consultez le DMP que pour un patient que vous prenez en charge.</p></section>
</article>"""


def register(app, ctx) -> None:
    ctx.nav.append(("Aide DMP", "dmp_help", "care"))

    @app.get("/aide/dmp", endpoint="dmp_help")
    @ctx.care_required
    def dmp_help():
        return ctx.page("Aide : le DMP dans le dossier patient", DMP_HELP)
