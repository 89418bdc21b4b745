"""CSRF tokens are compared in constant time, and a forged one of any characters is a refusal, not a crash."""
from gateway.auth import new_csrf_token, same_secret


def test_the_same_token_matches_and_another_does_not():
    token = new_csrf_token()
    assert same_secret(token, token)
    assert not same_secret(token, new_csrf_token())


def test_missing_or_non_ascii_tokens_are_refused_without_an_error():
    token = new_csrf_token()
    assert not same_secret(None, token) and not same_secret(token, "") and not same_secret(None, None)
    assert not same_secret("é" * 43, token)          # compare_digest on such str raised TypeError (a 500)
    assert same_secret("é\u00ff", "é\u00ff")
