"""The text pipeline: each step alone, then the query and name pipelines."""
import pytest

from addresses import config, text


def _words(*words):
    return text.Parsed(raw=" ".join(words), words=tuple(words))


@pytest.mark.parametrize("raw,folded", [
    ("Rue de l'Église", "rue de l'eglise"), ("BOULEVARD DE SÉBASTOPOL", "boulevard de sebastopol"),
    ("Cœur", "coeur"), ("Île-de-France", "ile-de-france"),
])
def test_fold(raw, folded):
    assert text.fold(text.Parsed(raw=raw, text=raw)).text == folded


def test_split_words_on_punctuation_apostrophes_and_hyphens():
    parsed = text.split_words(text.Parsed(raw="", text="12, rue de l'eglise-saint-paul"))
    assert parsed.words == ("12", "rue", "de", "l", "eglise", "saint", "paul")


@pytest.mark.parametrize("words,glued", [
    (("12", "bis", "rue", "x"), ("12bis", "rue", "x")),
    (("12", "b", "rue", "x"), ("12b", "rue", "x")),
    (("12", "ter"), ("12ter",)),
    (("12", "b", "x"), ("12", "b", "x")),  # "b" not followed by a street type: not a suffix
])
def test_glue_ordinal(words, glued):
    assert text.glue_ordinal(_words(*words)).words == glued


@pytest.mark.parametrize("words,number,left", [
    (("12bis", "rue", "x"), "12bis", ("rue", "x")),
    (("residence", "x", "3", "rue", "y"), "3", ("residence", "x", "rue", "y")),
    (("rue", "4", "septembre"), None, ("rue", "4", "septembre")),  # a number inside a name stays
    (("008", "rue", "x"), "8", ("rue", "x")),
    (("75011", "rue", "x"), None, ("75011", "rue", "x")),  # a postcode is no house number
])
def test_extract_housenumber(words, number, left):
    parsed = text.extract_housenumber(_words(*words))
    assert (parsed.housenumber, parsed.words) == (number, left)


def test_extract_postcode_takes_the_last_five_digit_word():
    parsed = text.extract_postcode(_words("rue", "x", "75011", "paris"))
    assert (parsed.postcode, parsed.words) == ("75011", ("rue", "x", "paris"))


@pytest.mark.parametrize("short,full", [
    ("bd", ("boulevard",)), ("av", ("avenue",)), ("r", ("rue",)), ("pl", ("place",)), ("fg", ("faubourg",)),
    ("st", ("saint",)), ("gal", ("galerie",)), ("rpt", ("rond", "point")), ("rivoli", ("rivoli",)),
])
def test_expand_synonyms(short, full):
    assert text.expand_synonyms(_words(short)).words == full


@pytest.mark.parametrize("word,normal", [("15eme", "15e"), ("15e", "15e"), ("1er", "1er"), ("1ere", "1er"),
                                         ("20ieme", "20e"), ("12", "12")])
def test_ordinal_words(word, normal):
    assert text.ordinal_words(_words(word)).words == (normal,)


def test_drop_stopwords_keeps_a_name_made_only_of_them():
    assert text.drop_stopwords(_words("rue", "de", "la", "paix")).words == ("rue", "paix")
    assert text.drop_stopwords(_words("la", "d")).words == ("la", "d")


@pytest.mark.parametrize("raw,key", [("12bis", "12b"), ("12 B", "12b"), ("012", "12"), ("12ter", "12t"), ("3", "3")])
def test_fold_ordinal(raw, key):
    assert text.fold_ordinal(raw) == key


@pytest.mark.parametrize("query,number,postcode,key", [
    ("12 bis Bd de Sébastopol 75003 Paris", "12bis", "75003", "boulevard sebastopol paris"),
    ("8 r. de l'Église", "8", None, "rue eglise"),
    ("Rue du Fbg St-Antoine, Paris 11ème", None, None, "rue faubourg saint antoine paris 11e"),
    ("75011paris 3 pl de la république", "3", "75011", "paris place republique"),
    ("12 rue de la Paix 75002 PARIS CEDEX 02", "12", "75002", "rue paix paris"),
])
def test_query_pipeline(query, number, postcode, key):
    parsed = text.run(config.steps(config.QUERY_STEPS), query)
    assert (parsed.housenumber, parsed.postcode, parsed.key()) == (number, postcode, key)


def test_names_and_queries_meet():
    names = config.steps(config.NAME_STEPS)
    assert text.run(names, "Boulevard de Sébastopol").key() == "boulevard sebastopol"
    assert text.run(names, "Paris 4e Arrondissement").key() == "paris 4e"


def test_an_unknown_step_is_refused():
    with pytest.raises(ValueError, match="unknown text step 'addresses.text.nope'"):
        config.steps(("addresses.text.nope",))
