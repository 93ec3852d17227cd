// Demo DPI — Portail de gestion: the single-page UI of demo_dpi.spa (no framework, the JSON API under /api/).
"use strict";

const contenu = document.getElementById("contenu");
const notification = document.getElementById("notification");
const boutonMenu = document.getElementById("bouton-menu");
const menu = document.getElementById("menu-principal");

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function notifier(texte, erreur) {
  notification.textContent = texte;
  notification.className = erreur ? "erreur" : "";
  notification.hidden = false;
}

function effacerNotification() {
  notification.hidden = true;
  notification.textContent = "";
}

async function api(methode, url, corps) {
  const options = {method: methode, headers: {}};
  if (corps !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(corps);
  }
  const reponse = await fetch(url, options);
  if (reponse.status === 401 && !url.startsWith("/api/session")) {
    aller("/portail/connexion");
    throw new Error("session");
  }
  let donnees = {};
  try { donnees = await reponse.json(); } catch (e) { donnees = {}; }
  return {statut: reponse.status, donnees};
}

function aller(chemin) {
  history.pushState({}, "", chemin);
  afficher();
}

document.addEventListener("click", (ev) => {
  const lien = ev.target.closest("a[data-lien]");
  if (lien) {
    ev.preventDefault();
    menu.hidden = true;
    boutonMenu.setAttribute("aria-expanded", "false");
    aller(lien.getAttribute("href"));
  }
});
window.addEventListener("popstate", afficher);

boutonMenu.addEventListener("click", () => {
  menu.hidden = !menu.hidden;
  boutonMenu.setAttribute("aria-expanded", String(!menu.hidden));
});

document.getElementById("deconnexion").addEventListener("click", async (ev) => {
  ev.preventDefault();
  await api("DELETE", "/api/session");
  aller("/portail/connexion");
});

function ouvrirModale(id, titre, ...corps) {
  fermerModale();
  const modale = el("div", {class: "modale", id, role: "dialog", "aria-modal": "true", "aria-label": titre},
    el("h2", {}, titre), ...corps);
  document.body.append(el("div", {class: "voile", id: "voile"}, modale));
  return modale;
}

function fermerModale() {
  const voile = document.getElementById("voile");
  if (voile) voile.remove();
}

// -- pages ---------------------------------------------------------------------------------------------
async function pageConnexion() {
  boutonMenu.hidden = true;
  document.getElementById("session").textContent = "";
  const erreur = el("p", {class: "erreurs", id: "erreur-connexion"});
  const formulaire = el("form", {id: "formulaire-connexion"},
    el("label", {for: "identifiant"}, "Identifiant"), el("input", {id: "identifiant", autocomplete: "username"}),
    el("label", {for: "mot-de-passe"}, "Mot de passe"),
    el("input", {id: "mot-de-passe", type: "password", autocomplete: "current-password"}),
    el("p", {}, el("button", {type: "submit", id: "connexion"}, "Connexion")), erreur);
  formulaire.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = await api("POST", "/api/session", {identifiant: document.getElementById("identifiant").value,
                                                 motDePasse: document.getElementById("mot-de-passe").value});
    if (r.statut === 200) aller("/portail/utilisateurs");
    else erreur.textContent = r.donnees.erreur || "Connexion refusée.";
  });
  contenu.replaceChildren(el("h1", {}, "Connexion au portail de gestion"), formulaire);
}

function etatCourriel(u) {
  return u.courriel.confirme ? el("span", {class: "pastille ok", "data-champ": "etat-courriel"}, "Courriel confirmé")
    : el("span", {class: "pastille attente", "data-champ": "etat-courriel"}, "Courriel à confirmer");
}

async function pageUtilisateurs() {
  const r = await api("GET", "/api/utilisateurs");
  const lignes = r.donnees.utilisateurs.map((u) => el("tr", {"data-utilisateur": u.id},
    el("td", {}, u.id), el("td", {}, u.nom), el("td", {}, u.prenom), el("td", {}, u.profession),
    el("td", {}, u.rpps || "—"), el("td", {}, u.courriel.adresse), el("td", {}, etatCourriel(u)),
    el("td", {}, el("button", {class: "secondaire ouvrir", type: "button", onclick: () => ouvrirFiche(u.id)},
                    "Ouvrir la fiche"))));
  contenu.replaceChildren(
    el("h1", {}, "Gestion des utilisateurs"),
    el("p", {}, el("button", {id: "ajouter-utilisateur", type: "button", onclick: nouvelUtilisateur},
                   "+ Ajouter un utilisateur")),
    el("table", {id: "table-utilisateurs"},
      el("thead", {}, el("tr", {}, ["N°", "Nom d'usage", "Prénom", "Profession", "N° RPPS", "Courriel",
                                    "État du courriel", ""].map((t) => el("th", {}, t)))),
      el("tbody", {}, lignes.length ? lignes : el("tr", {}, el("td", {colspan: 8}, "Aucun utilisateur.")))));
}

async function nouvelUtilisateur() {
  effacerNotification();
  const professions = (await api("GET", "/api/referentiels/professions")).donnees.professions;
  const erreurs = el("ul", {class: "erreurs"});
  const champ = (id, libelle, attrs) => [el("label", {for: id}, libelle), el("input", {id, ...(attrs || {})})];
  const formulaire = el("form", {id: "formulaire-utilisateur"},
    champ("saisie-nom", "Nom d'usage"), champ("saisie-prenom", "Prénom"),
    el("label", {for: "saisie-profession"}, "Profession"),
    el("select", {id: "saisie-profession"}, el("option", {value: ""}, "— choisir —"),
       professions.map((p) => el("option", {}, p))),
    champ("saisie-rpps", "N° RPPS (11 chiffres)", {inputmode: "numeric"}),
    champ("saisie-courriel", "Courriel professionnel", {type: "email"}),
    champ("saisie-mobile", "Téléphone mobile (facultatif)", {type: "tel", placeholder: "06 12 34 56 78"}),
    erreurs,
    el("div", {class: "actions"}, el("button", {type: "button", class: "secondaire", onclick: fermerModale}, "Annuler"),
       el("button", {type: "submit"}, "Enregistrer")));
  formulaire.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = (id) => document.getElementById(id).value;
    const r = await api("POST", "/api/utilisateurs", {nom: v("saisie-nom"), prenom: v("saisie-prenom"),
      profession: v("saisie-profession"), rpps: v("saisie-rpps"), courriel: v("saisie-courriel"),
      mobile: v("saisie-mobile")});
    if (r.statut === 201) {
      fermerModale();
      await pageUtilisateurs();
      notifier(`Utilisateur n° ${r.donnees.utilisateur.id} enregistré. ${r.donnees.message}`, r.donnees.niveau === "error");
    } else {
      erreurs.replaceChildren(...(r.donnees.erreurs || ["Enregistrement refusé."]).map((e) => el("li", {}, e)));
    }
  });
  ouvrirModale("modale-utilisateur", "Nouvel utilisateur", formulaire);
}

function ficheCourriel(u) {
  const c = u.courriel;
  const changement = c.nouvelleAdresse
    ? `Nouvelle adresse ${c.nouvelleAdresse} en attente de confirmation (demandée le ${c.demandeLe}) ; l'adresse active reste ${c.adresse}`
    : "Aucun changement en cours";
  return el("section", {id: "fiche-courriel"},
    el("h2", {}, "Courriel"),
    el("p", {}, "Adresse active : ", el("b", {"data-champ": "adresse-active"}, c.adresse), " ", etatCourriel(u)),
    el("p", {"data-champ": "changement"}, changement),
    el("button", {id: "changer-adresse", type: "button", onclick: () => changerAdresse(u)}, "Changer l'adresse…"));
}

async function ouvrirFiche(id) {
  effacerNotification();
  const u = (await api("GET", `/api/utilisateurs/${id}`)).donnees.utilisateur;
  ouvrirModale("modale-fiche", `Fiche utilisateur n° ${u.id} — ${u.prenom} ${u.nom}`,
    el("dl", {class: "fiche"}, el("dt", {}, "Nom d'usage"), el("dd", {}, u.nom), el("dt", {}, "Prénom"),
       el("dd", {}, u.prenom), el("dt", {}, "Profession"), el("dd", {}, u.profession), el("dt", {}, "N° RPPS"),
       el("dd", {}, u.rpps), el("dt", {}, "Mobile"), el("dd", {"data-champ": "mobile"}, u.mobile || "—"),
       el("dt", {}, "Créé le"), el("dd", {}, u.creeLe)),
    ficheCourriel(u),
    el("div", {class: "actions"}, el("button", {type: "button", class: "secondaire", onclick: fermerModale}, "Fermer")));
}

async function changerAdresse(u) {
  effacerNotification();
  const nouvelle = prompt(`Nouvelle adresse de messagerie de ${u.prenom} ${u.nom} :`);
  if (!nouvelle) return;
  if (!confirm(`Un lien de confirmation sera envoyé à ${nouvelle} et un avis à ${u.courriel.adresse}. Continuer ?`)) return;
  const r = await api("PUT", `/api/utilisateurs/${u.id}/courriel`, {nouvelleAdresse: nouvelle});
  if (r.statut === 200) {
    document.getElementById("fiche-courriel").replaceWith(ficheCourriel(r.donnees.utilisateur));
    notifier(r.donnees.message, r.donnees.niveau === "error");
  } else {
    notifier((r.donnees.erreurs || ["Modification refusée."]).join(" "), true);
  }
}

async function pageRecertification() {
  const r = (await api("GET", "/api/recertification")).donnees;
  const demandes = r.demandes.map((d) => el("tr", {}, el("td", {}, d.reference), el("td", {}, d.requested_at),
    el("td", {}, d.sent_at ? `envoyée à ${d.requester_email} le ${d.sent_at}` : "en cours chez l'infogérant")));
  contenu.replaceChildren(
    el("h1", {}, "Recertification des habilitations"),
    el("p", {id: "synthese-base"}, "Base de comptes : ",
       el("b", {"data-champ": "nombre"}, `${r.utilisateurs} utilisateurs`), `, dont ${r.privilegies} avec un droit privilégié.`),
    el("section", {id: "bloc-extraction"}, el("h2", {}, "Extraction en libre-service"),
       el("p", {}, "Un fichier CSV (séparateur virgule) : une ligne par utilisateur, ses habilitations et sa dernière connexion."),
       el("button", {id: "telecharger-extraction", type: "button", onclick: telechargerExtraction},
          "Télécharger l'extraction (CSV)")),
    el("section", {id: "bloc-infogerant"}, el("h2", {}, "Extraction par l'infogérant"),
       el("button", {id: "demander-extraction", type: "button", onclick: demanderExtraction},
          "Demander une extraction à l'infogérant…"),
       el("table", {id: "table-demandes"}, el("thead", {}, el("tr", {}, ["Référence", "Demandée le", "État"].map((t) => el("th", {}, t)))),
          el("tbody", {}, demandes))));
}

async function telechargerExtraction() {
  effacerNotification();
  const reponse = await fetch("/api/recertification/extraction");
  const nom = (/filename="([^"]+)"/.exec(reponse.headers.get("Content-Disposition") || "") || [])[1] || "extraction.csv";
  const url = URL.createObjectURL(await reponse.blob());
  const a = el("a", {href: url, download: nom});
  document.body.append(a);
  a.click();
  a.remove();
  notifier(`Extraction ${nom} téléchargée.`);
}

function demanderExtraction() {
  effacerNotification();
  const erreurs = el("ul", {class: "erreurs"});
  const formulaire = el("form", {id: "formulaire-demande"},
    el("label", {for: "demande-demandeur"}, "Demandeur"), el("input", {id: "demande-demandeur"}),
    el("label", {for: "demande-courriel"}, "Courriel de réception"), el("input", {id: "demande-courriel", type: "email"}),
    el("label", {for: "demande-motif"}, "Motif"), el("input", {id: "demande-motif", value: "Recertification périodique"}),
    erreurs,
    el("div", {class: "actions"}, el("button", {type: "button", class: "secondaire", onclick: fermerModale}, "Annuler"),
       el("button", {type: "submit"}, "Envoyer la demande")));
  formulaire.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = (id) => document.getElementById(id).value;
    const demande = {demandeur: v("demande-demandeur"), courriel: v("demande-courriel"), motif: v("demande-motif")};
    const r = await api("POST", "/api/recertification/demandes", demande);
    if (r.statut === 201) {
      fermerModale();
      await pageRecertification();
      notifier(`Demande ${r.donnees.demande.reference} transmise à l'infogérant : l'extraction sera envoyée à ${demande.courriel}.`);
    } else {
      erreurs.replaceChildren(...(r.donnees.erreurs || ["Demande refusée."]).map((e) => el("li", {}, e)));
    }
  });
  ouvrirModale("modale-demande", "Demande d'extraction à l'infogérant", formulaire);
}

function pageAide() {
  contenu.replaceChildren(
    el("h1", {}, "Aide — recertification des habilitations"),
    el("p", {}, "Au moins une fois par an, l'établissement relit la liste des utilisateurs du portail et leurs habilitations."),
    el("section", {id: "aide-libre-service"}, el("h2", {}, "Obtenir l'extraction en libre-service"),
       el("ol", {}, el("li", {}, "Ouvrez le menu (☰) puis « Recertification des habilitations »."),
          el("li", {}, "Cliquez sur « Télécharger l'extraction (CSV) » : le fichier est enregistré par votre navigateur."),
          el("li", {}, "Colonnes : identifiant, nom, prénom, courriel, n° RPPS, profession, actif, habilitations (séparées par « | »), droits privilégiés, dernière connexion (UTC)."))),
    el("section", {id: "aide-infogerant"}, el("h2", {}, "Demander l'extraction à l'infogérant"),
       el("ol", {}, el("li", {}, "Dans « Recertification des habilitations », cliquez sur « Demander une extraction à l'infogérant… »."),
          el("li", {}, "Indiquez le demandeur, le courriel de réception et le motif, puis envoyez la demande."),
          el("li", {}, "La demande reçoit une référence EXT-… ; l'infogérant envoie le fichier en pièce jointe au courriel indiqué."))));
}

async function pageCle(titre, url) {
  boutonMenu.hidden = true;
  const cle = new URLSearchParams(location.search).get("cle") || "";
  const resultat = el("div", {id: "resultat", role: "status", hidden: true});
  const bouton = el("button", {id: "confirmer-adresse", type: "button"}, "Confirmer mon adresse");
  bouton.addEventListener("click", async () => {
    const r = await api("POST", url, {cle});
    resultat.replaceChildren(el("span", {class: `pastille ${r.statut === 200 ? "ok" : "erreur"}`}, r.donnees.resultat),
                             " ", r.donnees.detail);
    resultat.hidden = false;
  });
  contenu.replaceChildren(el("h1", {}, titre),
    el("p", {}, "Pour confirmer que cette adresse de messagerie est bien la vôtre, cliquez sur le bouton."), bouton, resultat);
}

async function afficher() {
  fermerModale();
  const chemin = location.pathname.replace(/\/+$/, "");
  if (chemin === "/portail/activation") return pageCle("Activation de votre compte", "/api/activations");
  if (chemin === "/portail/nouvelle-adresse") return pageCle("Confirmation de votre nouvelle adresse", "/api/nouvelles-adresses");
  if (chemin === "/portail/connexion") return pageConnexion();
  const session = (await api("GET", "/api/session")).donnees.utilisateur;
  if (!session) return aller("/portail/connexion");
  boutonMenu.hidden = false;
  document.getElementById("session").textContent = `Connecté : ${session}`;
  if (chemin === "/portail/recertification") return pageRecertification();
  if (chemin === "/portail/aide/recertification") return pageAide();
  if (chemin === "/portail" || chemin === "/portail/utilisateurs") return pageUtilisateurs();
  contenu.replaceChildren(el("h1", {}, "Page introuvable"), el("p", {}, chemin));
}

afficher();
