"""Sealing vault values: AES-GCM, fresh nonces, values bound to their row and field, masked plaintext."""

from __future__ import annotations

import logging
import pickle

import pytest
from pytest_django.fixtures import Settings

from visionhub.vault.crypto import (
    Keyring,
    Sensitive,
    Tampered,
    UnknownKey,
    associated_data,
    configured_key,
    configured_keyring,
    derive_key,
    seal,
    unseal,
)
from visionhub.vault.schemas import SecretIn

OLD = derive_key("old key material, long enough")
NEW = derive_key("new key material, long enough")
AAD = associated_data(7, 3, "db", "password")
PLAIN = Sensitive("hunter2-correct-horse")


def test_a_value_opens_with_its_key_and_associated_data() -> None:
    sealed = seal(NEW, PLAIN, AAD)

    assert unseal(Keyring(NEW), sealed, AAD) == PLAIN
    assert "hunter2" not in sealed
    assert sealed.split(".")[1] == NEW.key_id


def test_every_seal_uses_a_fresh_nonce() -> None:
    assert seal(NEW, PLAIN, AAD) != seal(NEW, PLAIN, AAD)


def test_a_value_moved_to_another_row_or_field_does_not_open() -> None:
    sealed = seal(NEW, PLAIN, AAD)

    for other in (
        associated_data(8, 3, "db", "password"),
        associated_data(7, 4, "db", "password"),
        associated_data(7, 3, "dc", "password"),
        associated_data(7, 3, "db", "username"),
    ):
        with pytest.raises(Tampered):
            unseal(Keyring(NEW), sealed, other)


def test_a_flipped_byte_or_a_mangled_value_is_tampering() -> None:
    sealed = seal(NEW, PLAIN, AAD)
    flipped = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]

    for bad in (flipped, sealed[:-10], "vh1." + NEW.key_id + ".%%%", "garbage"):
        with pytest.raises(Tampered) as caught:
            unseal(Keyring(NEW), bad, AAD)
        assert "hunter2" not in str(caught.value)


def test_the_keyring_opens_values_of_previous_keys_and_names_a_missing_one() -> None:
    sealed_old = seal(OLD, PLAIN, AAD)

    assert unseal(Keyring.of(NEW, [OLD]), sealed_old, AAD) == PLAIN
    with pytest.raises(UnknownKey) as caught:
        unseal(Keyring(NEW), sealed_old, AAD)
    assert caught.value.key_id == OLD.key_id


def test_keys_are_derived_deterministically_and_their_id_is_not_the_key() -> None:
    again = derive_key("new key material, long enough")

    assert again.key == NEW.key and again.key_id == NEW.key_id
    assert len(NEW.key) == 32 and len(NEW.key_id) == 16
    assert NEW.key_id not in NEW.key.hex()
    assert OLD.key_id != NEW.key_id
    assert NEW.key.hex() not in repr(NEW) and "material" not in repr(NEW)


def test_the_vault_key_setting_wins_over_the_secret_key(settings: Settings) -> None:
    settings.VAULT_KEY = None
    from_secret_key = configured_key()
    assert from_secret_key.key_id == derive_key(settings.SECRET_KEY).key_id

    settings.VAULT_KEY = "a separate vault key material"
    assert configured_key().key_id == derive_key("a separate vault key material").key_id


def test_servers_can_be_given_previous_keys_to_read_during_a_rotation(
    settings: Settings,
) -> None:
    settings.VAULT_KEY = "new key material, long enough"
    settings.VAULT_PREVIOUS_KEYS = ["old key material, long enough"]
    sealed_old = seal(OLD, PLAIN, AAD)

    keyring = configured_keyring()

    assert keyring.current.key_id == NEW.key_id
    assert unseal(keyring, sealed_old, AAD) == PLAIN


def test_plaintext_is_masked_in_repr_str_formatting_logs_and_pickles(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("value %s %r", PLAIN, PLAIN)

    for text in (repr(PLAIN), str(PLAIN), f"{PLAIN}", caplog.text, repr([PLAIN])):
        assert "hunter2" not in text
    assert PLAIN.reveal() == "hunter2-correct-horse"
    with pytest.raises(TypeError):
        pickle.dumps(PLAIN)


def test_the_input_schema_masks_credentials() -> None:
    body = SecretIn.model_validate(
        {"name": "db", "username": "admin-user-x", "password": "hunter2-correct-horse"}
    )

    assert "hunter2" not in repr(body) and "admin-user-x" not in repr(body)
    assert "hunter2" not in str(body.model_dump())
