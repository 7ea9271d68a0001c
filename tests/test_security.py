"""Passwords are stored as argon2id hashes; email-link tokens are random and only their hash is kept."""

import re

import pytest
from argon2 import Parameters, PasswordHasher, Type, extract_parameters

from portal.core.security import hash_password, hash_token, new_token, verify_password
from portal.core.settings import get_settings

PRODUCTION_PARAMETERS = Parameters(
    type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=3, memory_cost=65536, parallelism=4
)


@pytest.fixture
def production(monkeypatch):
    """The settings of a real deployment, where PORTAL_PASSWORD_HASHING is not set."""
    monkeypatch.delenv("PORTAL_PASSWORD_HASHING")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_password_hash_is_argon2id_and_salted():
    first, second = hash_password("correct-horse-battery"), hash_password("correct-horse-battery")
    assert first.startswith("$argon2id$")
    assert "correct-horse-battery" not in first
    assert first != second


def test_production_hashes_with_argon2id_at_rfc_9106_low_memory_strength(production):
    stored = hash_password("correct-horse-battery")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert extract_parameters(stored) == PRODUCTION_PARAMETERS
    assert verify_password(stored, "correct-horse-battery") is True
    assert verify_password(stored, "Correct-horse-battery") is False
    assert verify_password(None, "correct-horse-battery") is False


def test_the_test_suite_hashes_cheaply_and_still_verifies_production_hashes():
    """conftest.py sets PORTAL_PASSWORD_HASHING=fast-insecure-for-tests (logins in microseconds)."""
    cheap = hash_password("correct-horse-battery")
    assert extract_parameters(cheap) == Parameters(
        type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=1, memory_cost=8, parallelism=1
    )
    production_hash = PasswordHasher.from_parameters(PRODUCTION_PARAMETERS).hash("correct-horse-battery")
    assert verify_password(production_hash, "correct-horse-battery") is True
    assert verify_password(production_hash, "wrong-horse-battery") is False


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
