"""Every message template renders in both languages; values are escaped in HTML only."""
import pytest

from notifications.render import TEMPLATES, render

INCIDENT = {"id": 42, "category": {"fr": "Graffitis, tags", "en": "Graffiti, tags"}, "quartier": "Les <Halles>",
            "zone": "Zone & Co", "status_code": "new", "reported_at": "2026-12-03T10:00:00+00:00",
            "expected_at": "2026-12-06T10:00:00+00:00", "producer": "Propreté", "incident_path": "/incidents/42",
            "queue_path": "/incidents/queue"}
CONTEXTS = {
    "subscription_confirm": {"selection": "quartier Les <Halles>", "confirm_path": "/abonnements/confirmer/t"},
    "report_accepted": dict(INCIDENT, follow_up_path="/incidents/42/suivi/s"),
    "report_status": dict(INCIDENT, to_status="rejected", from_status="new", note="Hors <domaine>", reopened=False),
    "queue_new": INCIDENT,
    "queue_overdue": INCIDENT,
    "queue_answer": dict(INCIDENT, confirmed=False),
    "area_new_report": dict(INCIDENT, selection="quartier Les <Halles>"),
    "compliance_published": {"month_start": "2026-11-01", "version": 1, "met": 3, "selection": "zone <Z>",
                             "publications_path": "/normes/publications",
                             "failures": [{"norm": {"fr": "Graffitis en 72 h", "en": "Graffiti in 72 h"},
                                           "place": "Les <Halles>", "rate": 0.5, "target": 0.9, "simulated": True}]},
    "publication_due": {"month_start": "2026-11-01", "due_on": "2026-12-05", "overdue": True,
                        "publications_path": "/normes/publications"},
    "purchase_changed": {"id": 7, "object": "Réfection de la cour <école>", "buyer": "Ville de Nantes",
                         "cpv_code": "45233140", "amount": 120000.0, "quarter": "2025-T3", "status_code": "planned",
                         "status_label": "prévu", "procedure": "Procédure adaptée", "new": True,
                         "selection": "division CPV 45", "purchase_path": "/achats/a-venir/7"},
    "digest": {"count": 2, "items": [{"subject": "A <1>", "text": "texte 1", "html": "<p>un</p>",
                                      "unsubscribe_url": "http://x/u/1"},
                                     {"subject": "B", "text": "texte 2", "html": "<p>deux</p>", "unsubscribe_url": None}]},
}


def test_every_template_has_a_test_context_in_both_languages():
    for locale in ("fr", "en"):
        names = {p.stem for p in (TEMPLATES / locale).glob("*.j2") if not p.stem.startswith("_")}
        assert names == set(CONTEXTS)


@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_template_renders_text_and_escaped_html(template, locale):
    from markupsafe import Markup

    context = dict(CONTEXTS[template])
    if template == "digest":
        context["items"] = [dict(i, html=Markup(i["html"])) for i in context["items"]]
    message = render(template, locale, context, base_url="https://ova.test/", unsubscribe_url="https://ova.test/u/x")
    assert message.subject and "\n" not in message.subject
    assert "https://ova.test/u/x" in message.text and 'href="https://ova.test/u/x"' in message.html
    assert f'<html lang="{locale}">' in message.html
    if template != "publication_due":  # the only one showing no free value
        assert "&lt;" in message.html  # a value with "<" was shown, escaped
    assert "<Halles>" not in message.html and "<domaine>" not in message.html and "<Z>" not in message.html
    for raw, escaped in (("Les <Halles>", "Les &lt;Halles&gt;"), ("Hors <domaine>", "Hors &lt;domaine&gt;")):
        if escaped in message.html:
            assert raw in message.text  # plain text is not HTML-escaped


def test_french_and_english_dates():
    fr = render("queue_new", "fr", INCIDENT, base_url="https://o", unsubscribe_url=None)
    en = render("queue_new", "en", INCIDENT, base_url="https://o", unsubscribe_url=None)
    assert "6 décembre 2026 11:00" in fr.text  # Paris time
    assert "6 December 2026 11:00" in en.text and "?lang=en" in en.text


def test_unknown_language_falls_back_to_french():
    assert render("queue_new", "de", INCIDENT, base_url="https://o", unsubscribe_url=None).subject.startswith(
        "Nouveau signalement")
