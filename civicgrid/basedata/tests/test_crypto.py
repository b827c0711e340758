import base64

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from civicgrid.basedata import crypto
from civicgrid.basedata.validators import (
    IdNumberError,
    check_uscc,
    make_resident_id,
    make_uscc,
    parse_resident_id,
)

RING2 = {
    "keys": {"t1": "dGVzdC1rZXktb25lLTE2Qg==", "t2": "dGVzdC1rZXktdHdvLTE2Qg=="},
    "active": "t2",
    "index_key": "dGVzdC1ibGluZC1pbmRleC1rZXktMzItYnl0ZXMhISE=",
}


def test_sm4_gcm_round_trip_carries_key_id_and_random_nonce():
    a = crypto.encrypt("140213199001011234", context="person.id_number")
    b = crypto.encrypt("140213199001011234", context="person.id_number")
    assert a.startswith("t1$") and a != b
    assert "1402131990" not in a
    assert crypto.decrypt(a, context="person.id_number") == "140213199001011234"


def test_ciphertext_does_not_open_in_another_column_or_when_tampered():
    token = crypto.encrypt("13900000012", context="person.phone")
    with pytest.raises(crypto.PIIError):
        crypto.decrypt(token, context="person.id_number")
    kid, _, b64 = token.partition("$")
    raw = bytearray(base64.b64decode(b64))
    raw[-1] ^= 1
    with pytest.raises(crypto.PIIError):
        crypto.decrypt(kid + "$" + base64.b64encode(bytes(raw)).decode(), context="person.phone")
    with pytest.raises(crypto.PIIError):
        crypto.decrypt("zz$" + b64, context="person.phone")


def test_rotation_reencrypts_and_old_tokens_still_open_while_index_is_unchanged():
    old = crypto.encrypt("13900000012", context="person.phone")
    idx = crypto.blind_index("139 0000 0012", context="person.phone")
    with override_settings(PII_KEYRING=RING2):
        new = crypto.reencrypt(old, context="person.phone")
        assert new.startswith("t2$")
        assert crypto.decrypt(old, context="person.phone") == "13900000012"
        assert crypto.decrypt(new, context="person.phone") == "13900000012"
        assert crypto.reencrypt(new, context="person.phone") == new
        assert crypto.blind_index("13900000012", context="person.phone") == idx


def test_blind_index_is_keyed_and_per_context():
    a = crypto.blind_index("13900000012", context="person.phone")
    assert a != crypto.blind_index("13900000012", context="person.id_number")
    assert len(a) == 32
    other = dict(RING2, index_key=base64.b64encode(b"x" * 32).decode())
    with override_settings(PII_KEYRING=other):
        assert crypto.blind_index("13900000012", context="person.phone") != a


def test_keys_from_environment(monkeypatch):
    monkeypatch.setenv("PII_KEYS", "a:" + base64.b64encode(b"1" * 16).decode())
    monkeypatch.setenv("PII_INDEX_KEY", base64.b64encode(b"2" * 32).decode())
    ring = crypto._from_env()
    assert ring.active == "a" and ring.keys["a"] == b"1" * 16
    monkeypatch.setenv("PII_ACTIVE_KEY", "b")
    with pytest.raises(ImproperlyConfigured):
        crypto._from_env()


def test_key_file_generated_once_with_owner_only_mode(tmp_path):
    path = tmp_path / "keys.json"
    crypto.generate_keyfile(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(FileExistsError):
        crypto.generate_keyfile(path)
    with override_settings(PII_KEYRING=None, PII_KEY_FILE=path):
        token = crypto.encrypt("x", context="c")
        assert token.startswith("k1$")


def test_masks():
    assert crypto.mask_id("140213199001011234") == "140213********1234"
    assert crypto.mask_phone("13900000012") == "139****0012"
    assert crypto.mask_phone("03525551234") == "*******1234"


def test_resident_id_checksum_birth_date_gender():
    number = make_resident_id("140213", __import__("datetime").date(1990, 1, 1), 124)
    v, birth, gender = parse_resident_id(number)
    assert birth.isoformat() == "1990-01-01" and gender == "F"  # 17th digit even: female
    assert parse_resident_id(make_resident_id("140213", birth, 123))[2] == "M"
    bad = number[:-1] + ("0" if number[-1] != "0" else "1")
    with pytest.raises(IdNumberError) as exc:
        parse_resident_id(bad)
    assert exc.value.code == "checksum"
    impossible = make_resident_id("140213", __import__("datetime").date(1990, 1, 1), 1)
    impossible = impossible[:10] + "0230" + impossible[14:17]
    from civicgrid.basedata.validators import id_check_char

    with pytest.raises(IdNumberError) as exc:
        parse_resident_id(impossible + id_check_char(impossible))
    assert exc.value.code == "birth_date"


def test_known_real_format_id_and_uscc():
    # The GB 11643 standard's own example and a published credit code.
    assert parse_resident_id("11010519491231002X")[2] == "F"
    assert check_uscc("91350100M000100Y43") == "91350100M000100Y43"
    with pytest.raises(IdNumberError):
        check_uscc("91350100M000100Y44")
    code = make_uscc("140213", 12345)
    assert check_uscc(code) == code
