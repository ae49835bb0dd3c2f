"""``ova open311 key`` issues a working api_key."""
from portal.auth.tokens import user_for_token


def test_key_command_issues_a_token(runner, session, make_user):
    user = make_user("commercant", "client@example.org")
    result = runner.invoke(args=["open311", "key", "--email", "client@example.org", "--label", "app"])
    assert result.exit_code == 0, result.output
    assert user_for_token(session, result.output.strip()).id == user.id


def test_key_command_unknown_account(runner):
    result = runner.invoke(args=["open311", "key", "--email", "nobody@example.org", "--label", "app"])
    assert result.exit_code != 0 and "no active account" in result.output
