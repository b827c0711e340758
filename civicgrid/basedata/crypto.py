"""Personal-data protection: SM4-GCM encryption, SM3-HMAC blind index, masking.

Ciphertexts are text ``<key id>$<base64(nonce ‖ ciphertext ‖ tag)>``: the key id says which key
opened it, so keys rotate row by row (``manage.py pii_rotate``) while every row stays readable. The
blind index uses its own key, never rotated with the encryption keys, so exact look-up by ID
number keeps working during and after a rotation.

Keys never live in the database. They come, in this order, from
1. ``settings.PII_KEYRING`` (tests set a fixed one),
2. the environment: ``PII_KEYS="kid1:base64,kid2:base64"`` (16-byte SM4 keys),
   ``PII_ACTIVE_KEY=kid2`` and ``PII_INDEX_KEY=base64`` (32 bytes),
3. a JSON key file (``PII_KEY_FILE``, default ``var/pii_keys.json``), generated on first use for
   development like the secret key. Back that file up: without it the data cannot be read.

SM4 in GCM mode comes from ``cryptography``'s ``algorithms.SM4`` + ``modes.GCM`` (OpenSSL's
``SM4-GCM``); the SM3 HMAC from ``hashes.SM3``.
"""

from __future__ import annotations

import base64
import binascii
import hmac as std_hmac
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as c_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NONCE_LEN = 12
TAG_LEN = 16
SEP = "$"
KID_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


class PIIError(Exception):
    """A ciphertext that cannot be opened (unknown key id, tampered, wrong field)."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]
    active: str
    index_key: bytes

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise ImproperlyConfigured(f"PII active key {self.active!r} is not among the keys")
        for kid, key in self.keys.items():
            if not KID_RE.match(kid):
                raise ImproperlyConfigured(f"PII key id {kid!r}: letters, digits, _ or -")
            if len(key) != 16:
                raise ImproperlyConfigured(f"PII key {kid!r} must be 16 bytes (SM4-128)")
        if len(self.index_key) < 32:
            raise ImproperlyConfigured("PII index key must be at least 32 bytes")
        if any(std_hmac.compare_digest(self.index_key[:16], k) for k in self.keys.values()):
            raise ImproperlyConfigured("PII index key must differ from the encryption keys")
        # Prepared once: building the cipher algorithm and the keyed HMAC dominates per-value cost.
        object.__setattr__(self, "algos", {k: algorithms.SM4(v) for k, v in self.keys.items()})
        object.__setattr__(self, "hmac_base", c_hmac.HMAC(self.index_key, hashes.SM3()))


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"{what}: not base64") from exc


def _from_mapping(data: dict) -> Keyring:
    return Keyring(
        keys={k: _b64(v, f"PII key {k}") for k, v in data["keys"].items()},
        active=data["active"],
        index_key=_b64(data["index_key"], "PII index key"),
    )


def _from_env() -> Keyring | None:
    raw = os.environ.get("PII_KEYS", "").strip()
    if not raw:
        return None
    keys = {}
    for part in raw.split(","):
        kid, _sep, b64 = part.strip().partition(":")
        if not b64:
            raise ImproperlyConfigured("PII_KEYS: expected kid:base64[,kid:base64…]")
        keys[kid] = b64
    index = os.environ.get("PII_INDEX_KEY", "")
    if not index:
        raise ImproperlyConfigured("PII_KEYS is set but PII_INDEX_KEY is not")
    active = os.environ.get("PII_ACTIVE_KEY") or list(keys)[-1]
    return _from_mapping({"keys": keys, "active": active, "index_key": index})


def generate_keyfile(path: Path) -> None:
    """Write a new key file (one SM4 key ``k1`` and an index key), readable by the owner only."""
    data = {
        "keys": {"k1": base64.b64encode(os.urandom(16)).decode()},
        "active": "k1",
        "index_key": base64.b64encode(os.urandom(32)).decode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)


def _from_file() -> Keyring:
    path = Path(
        os.environ.get("PII_KEY_FILE")
        or getattr(settings, "PII_KEY_FILE", "")
        or Path(settings.VAR_DIR) / "pii_keys.json"
    )
    if not path.exists():
        try:
            generate_keyfile(path)
        except FileExistsError:
            pass  # another process won the race
    return _from_mapping(json.loads(path.read_text()))


_lock = threading.Lock()
_ring: Keyring | None = None


def keyring() -> Keyring:
    global _ring
    if _ring is None:
        with _lock:
            if _ring is None:
                configured = getattr(settings, "PII_KEYRING", None)
                _ring = _from_mapping(configured) if configured else (_from_env() or _from_file())
    return _ring


def reset_keyring(**_kwargs) -> None:
    """Forget the loaded keys (tests override settings; a rotation changes the active key)."""
    global _ring
    _ring = None


# ---------------------------------------------------------------------------------------------


def encrypt(plaintext: str, *, context: str, kid: str | None = None) -> str:
    """Encrypt under the active key (or ``kid``); ``context`` (e.g. "person.phone") is bound as AAD.

    The AAD stops a ciphertext copied into another column from opening there.
    """
    ring = keyring()
    kid = kid or ring.active
    nonce = os.urandom(NONCE_LEN)
    enc = Cipher(ring.algos[kid], modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(context.encode())
    body = enc.update(plaintext.encode()) + enc.finalize()
    return kid + SEP + base64.b64encode(nonce + body + enc.tag).decode()


def key_id(token: str) -> str:
    return token.partition(SEP)[0]


def decrypt(token: str, *, context: str) -> str:
    kid, sep, b64 = token.partition(SEP)
    ring = keyring()
    if not sep or kid not in ring.keys:
        raise PIIError(f"unknown key id {kid!r}")
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PIIError("ciphertext is not base64") from exc
    if len(raw) < NONCE_LEN + TAG_LEN:
        raise PIIError("ciphertext too short")
    nonce, body, tag = raw[:NONCE_LEN], raw[NONCE_LEN:-TAG_LEN], raw[-TAG_LEN:]
    dec = Cipher(ring.algos[kid], modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(context.encode())
    try:
        return (dec.update(body) + dec.finalize()).decode()
    except InvalidTag as exc:
        raise PIIError("ciphertext failed authentication") from exc


def reencrypt(token: str, *, context: str) -> str:
    """The same plaintext under the active key; a token already under it is returned as is."""
    if key_id(token) == keyring().active:
        return token
    return encrypt(decrypt(token, context=context), context=context)


def blind_index(value: str, *, context: str) -> str:
    """Keyed SM3-HMAC of the normalised value, 32 hex characters (128 bits), for exact look-up."""
    h = keyring().hmac_base.copy()
    h.update(context.encode() + b"\x00" + normalise(value).encode())
    return h.finalize()[:16].hex()


def normalise(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "").upper()


# ---------------------------------------------------------------------------------------------
# masking


def mask_id(value: str) -> str:
    """``140213********1234``: the region (6) and the last 4 shown, the rest starred."""
    v = normalise(value)
    if len(v) <= 8:
        return v[:1] + "*" * max(len(v) - 2, 1) + v[-1:] if len(v) > 2 else "*" * len(v)
    if len(v) >= 15:
        return v[:6] + "*" * (len(v) - 10) + v[-4:]
    return v[:2] + "*" * (len(v) - 4) + v[-2:]


def mask_phone(value: str) -> str:
    """``139****0012`` for mobiles; other numbers keep only their last 4 digits."""
    v = re.sub(r"\D", "", value or "")
    if len(v) == 11 and v[0] == "1":
        return v[:3] + "****" + v[-4:]
    if len(v) > 4:
        return "*" * (len(v) - 4) + v[-4:]
    return "*" * len(v)
