"""Reference data: the OVA grid is 4 champs d'action x 5 tâches standard, each with a producer."""
from sqlalchemy import text

from ova.seed import seed_all


def test_grid_is_four_by_five_with_producers(connection):
    counts = connection.execute(text(
        "SELECT c.code, count(DISTINCT t.code), bool_and(EXISTS (SELECT 1 FROM tache_producers tp "
        "WHERE tp.tache_code = t.code)) FROM champs_action c JOIN taches_standard t ON t.champ_code = c.code "
        "GROUP BY c.code ORDER BY c.code")).all()
    assert counts == [("EP", 5, True), ("IA", 5, True), ("IG", 5, True), ("PS", 5, True)]


def test_seeding_again_changes_nothing(connection):
    before = connection.execute(text("SELECT * FROM incident_categories ORDER BY code")).all()
    counts = seed_all(connection)
    assert counts["champs"] == 4 and counts["taches"] == 20
    assert connection.execute(text("SELECT * FROM incident_categories ORDER BY code")).all() == before
    assert connection.scalar(text("SELECT label_fr FROM incident_categories WHERE code = 'graffiti'")) == "Graffitis, tags"
