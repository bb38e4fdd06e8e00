"""Keys, signatures and field encryption: Ed25519, argon2id + AES-GCM, HKDF. Pure functions.

What:

* each user's Ed25519 key pair (RFC 8032): the 32-byte public key is public (hex); the private
  key is stored only encrypted under a key derived from the user's password;
* password-derived key: argon2id raw (RFC 9106, the "second recommended option": t=3,
  m=64 MiB, p=4) over a random 16-byte salt, 32 bytes, then AES-256-GCM (NIST SP 800-38D)
  with a random 96-bit nonce and the user name as associated data, so a blob copied to another
  user does not decrypt;
* field encryption at rest (crosswalk identifiers): AES-256-GCM under a key derived with HKDF
  (RFC 5869, SHA-256) from the workspace secret, the table, row id and field as associated
  data, so a ciphertext moved to another row or field does not decrypt;
* detached Ed25519 signatures over bytes, and their verification from the public key alone.

The heavy lifting is the ``cryptography`` package (OpenSSL) and ``argon2-cffi``; nothing here
implements a primitive. Messages to sign are built by the callers as canonical JSON
(``pmpath.domain.canonical``) prefixed with a domain-separation label.
"""

from __future__ import annotations

import json
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pmpath.domain.canonical import sha256_hex

ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 65536
ARGON2_PARALLELISM = 4
"""RFC 9106 section 4, second recommended option (argon2id, t=3, m=64 MiB, p=4)."""

_FIELD_PREFIX = "aesgcm:v1:"


class DecryptionError(ValueError):
    """A wrong password or key, or a ciphertext that was altered or moved."""


def generate_signing_key() -> tuple[bytes, str]:
    """Return a new Ed25519 key pair as (32-byte raw private key, hex public key)."""
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return raw, public_key_of(raw)


def public_key_of(private_raw: bytes) -> str:
    """Return the hex Ed25519 public key of a 32-byte raw private key."""
    public = Ed25519PrivateKey.from_private_bytes(private_raw).public_key()
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def fingerprint(public_hex: str) -> str:
    """Return the key's fingerprint: the first 16 hex digits of the sha256 of its 32 bytes."""
    return sha256_hex(bytes.fromhex(public_hex))[:16]


def _password_key(password: str, salt: bytes, time_cost: int, memory_kib: int, lanes: int) -> bytes:
    from argon2.low_level import Type, hash_secret_raw

    return hash_secret_raw(
        password.encode("utf-8"),
        salt,
        time_cost=time_cost,
        memory_cost=memory_kib,
        parallelism=lanes,
        hash_len=32,
        type=Type.ID,
    )


def encrypt_private_key(private_raw: bytes, password: str, *, owner: str) -> str:
    """Return the private key encrypted under argon2id(password) with AES-256-GCM, as JSON text
    holding the KDF parameters, salt, nonce and ciphertext; ``owner`` is bound as associated data.
    """
    salt, nonce = os.urandom(16), os.urandom(12)
    key = _password_key(password, salt, ARGON2_TIME_COST, ARGON2_MEMORY_KIB, ARGON2_PARALLELISM)
    ciphertext = AESGCM(key).encrypt(nonce, private_raw, owner.encode("utf-8"))
    return json.dumps(
        {
            "kdf": "argon2id",
            "t": ARGON2_TIME_COST,
            "m_kib": ARGON2_MEMORY_KIB,
            "p": ARGON2_PARALLELISM,
            "salt": salt.hex(),
            "cipher": "aes-256-gcm",
            "nonce": nonce.hex(),
            "ciphertext": ciphertext.hex(),
        },
        sort_keys=True,
    )


def decrypt_private_key(blob: str, password: str, *, owner: str) -> bytes:
    """Return the raw private key from :func:`encrypt_private_key`'s JSON; DecryptionError if the
    password is wrong or the blob was altered or belongs to another owner."""
    try:
        data = json.loads(blob)
        salt, nonce = bytes.fromhex(data["salt"]), bytes.fromhex(data["nonce"])
        ciphertext = bytes.fromhex(data["ciphertext"])
        key = _password_key(password, salt, int(data["t"]), int(data["m_kib"]), int(data["p"]))
        return AESGCM(key).decrypt(nonce, ciphertext, owner.encode("utf-8"))
    except (InvalidTag, KeyError, ValueError, TypeError):
        raise DecryptionError("the private key does not decrypt with this password") from None


def sign_message(private_raw: bytes, message: bytes) -> str:
    """Return the hex Ed25519 signature (64 bytes) of ``message`` (RFC 8032, pure Ed25519)."""
    return Ed25519PrivateKey.from_private_bytes(private_raw).sign(message).hex()


def verify_message(public_hex: str, message: bytes, signature_hex: str) -> bool:
    """Return True if ``signature_hex`` is a valid Ed25519 signature of ``message`` by the key."""
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def public_key_pem(public_hex: str) -> str:
    """Return the public key as a PEM SubjectPublicKeyInfo block (what ``openssl`` reads)."""
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode("ascii")


def parse_public_key(text: str) -> str:
    """Return the hex public key from PEM text or 64 hex digits; ValueError if it is neither."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(stripped.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    if len(stripped) == 64:
        bytes.fromhex(stripped)
        return stripped.lower()
    raise ValueError("neither a PEM Ed25519 public key nor 64 hex digits")


def derive_key(secret: bytes, purpose: str) -> bytes:
    """Return 32 bytes derived from ``secret`` for one ``purpose`` (HKDF-SHA256, RFC 5869)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode("utf-8")
    ).derive(secret)


def signing_key_from_seed(seed: bytes) -> tuple[bytes, str]:
    """Return the Ed25519 key pair whose 32-byte private key is ``seed``."""
    return seed, public_key_of(seed)


def encrypt_field(key: bytes, plaintext: str, *, context: str) -> str:
    """Return ``aesgcm:v1:<nonce hex>:<ciphertext hex>``: AES-256-GCM of ``plaintext`` with
    ``context`` (table, row, field) as associated data."""
    nonce = os.urandom(12)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
    return f"{_FIELD_PREFIX}{nonce.hex()}:{ciphertext.hex()}"


def is_encrypted_field(value: str) -> bool:
    """Return True if ``value`` has the form :func:`encrypt_field` writes."""
    return value.startswith(_FIELD_PREFIX)


def decrypt_field(key: bytes, token: str, *, context: str) -> str:
    """Return the plaintext of :func:`encrypt_field`'s token; DecryptionError if the key is
    wrong, the token was altered, or it was moved from another row or field."""
    try:
        nonce_hex, ciphertext_hex = token[len(_FIELD_PREFIX) :].split(":")
        plain = AESGCM(key).decrypt(
            bytes.fromhex(nonce_hex), bytes.fromhex(ciphertext_hex), context.encode("utf-8")
        )
        return plain.decode("utf-8")
    except (InvalidTag, ValueError):
        raise DecryptionError(f"{context} does not decrypt with this workspace's key") from None
