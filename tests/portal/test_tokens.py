"""API tokens are stored hashed and resolve to their user until revoked."""
from sqlalchemy import select

from ova.models import ApiToken
from portal.auth.tokens import issue_token, user_for_token


def test_token_round_trip_and_revocation(session, make_user):
    user = make_user("agent")
    token = issue_token(session, user, "open311 client")
    stored = session.scalar(select(ApiToken))
    assert token not in stored.token_hash and len(stored.token_hash) == 64
    assert user_for_token(session, token).id == user.id
    assert user_for_token(session, token + "x") is None
    assert user_for_token(session, None) is None
    stored.revoked = True
    session.flush()
    assert user_for_token(session, token) is None
