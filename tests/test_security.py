"""Passwords are stored as argon2id hashes; email-link tokens are random and only their hash is kept."""

import re

from portal.core.security import hash_password, hash_token, new_token, verify_password


def test_password_hash_is_argon2id_and_salted():
    first, second = hash_password("correct-horse-battery"), hash_password("correct-horse-battery")
    assert first.startswith("$argon2id$")
    assert "correct-horse-battery" not in first
    assert first != second


def test_verify_accepts_the_right_password_only():
    stored = hash_password("correct-horse-battery")
    assert verify_password(stored, "correct-horse-battery") is True
    assert verify_password(stored, "Correct-horse-battery") is False
    assert verify_password(stored, "") is False


def test_verify_without_a_hash_is_always_false():
    assert verify_password(None, "correct-horse-battery") is False
    assert verify_password(None, "not-a-real-password") is False  # not even the dummy's password


def test_verify_with_a_garbage_hash_is_false():
    assert verify_password("not-a-hash", "correct-horse-battery") is False


def test_tokens_are_random_and_only_the_hash_is_stored():
    token, stored = new_token()
    other_token, other_stored = new_token()
    assert token != other_token and stored != other_stored
    assert len(token) >= 40
    assert token not in stored
    assert stored == hash_token(token)


def test_hash_token_is_deterministic_sha256_hex():
    assert hash_token("abc") == hash_token("abc")
    assert hash_token("abc") != hash_token("abd")
    assert re.fullmatch(r"[0-9a-f]{64}", hash_token("abc"))
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
