"""Messages of the domain packages: French without the portal, the portal's language with it."""
import pytest

from ova import i18n


@pytest.fixture
def restore_translator():
    saved = i18n._translate
    yield
    i18n.install(saved)


def test_french_text_when_nothing_is_installed(restore_translator):
    i18n.install(i18n._french)
    assert i18n.gettext("pas de signalement n° %(id)s", id=7) == "pas de signalement n° 7"
    assert str(i18n.lazy_gettext("note")) == "note"


def test_installed_translator_is_used_each_time_a_lazy_text_is_read(restore_translator):
    language = {"value": "fr"}
    i18n.install(lambda msgid, **params: (msgid % params).upper() if language["value"] == "en" else msgid % params)
    label = i18n.lazy_gettext("adresse")
    assert str(label) == "adresse"
    language["value"] = "en"
    assert str(label) == "ADRESSE"
    assert i18n.gettext("n° %(id)s", id=3) == "N° 3"


def test_the_portal_translates_domain_messages(app):
    from incidents.fields import clean_text
    from ova.errors import InvalidInput

    for lang, expected in (("fr", "description : trop long (10 caractères, 5 au plus)"),
                           ("en", "description is too long (10 characters, at most 5)")):
        with app.test_request_context(f"/?lang={lang}"):
            with pytest.raises(InvalidInput) as err:
                clean_text("x" * 10, "description", 5)
        assert err.value.message == expected
