"""Pulumi's passphrase secrets provider, read offline: `secure:` values decrypted as the CLI decrypts them.

A stack whose secrets provider is the passphrase (the stack file's `encryptionsalt:`) can be reviewed offline with
its real secret values when PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE is set, as `pulumi preview`
needs them too. The values stay secrets: their keys are marked secret exactly as without the passphrase, so they
show as [secret] wherever they land. Without a passphrase (or with another provider) they stay placeholders.

The scheme (pulumi/pulumi v3.274.1: pkg/secrets/passphrase/manager.go symmetricCrypterFromPhraseAndState,
sdk/go/common/resource/config/crypt.go): `encryptionsalt` is `v1:<base64 salt>:<the word "pulumi" encrypted>`;
the key is PBKDF2-HMAC-SHA256 of the passphrase and salt, 1,000,000 iterations, 32 bytes; a value is
`v1:<base64 nonce>:<base64 AES-256-GCM ciphertext and tag>`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class PassphraseError(Exception):
    pass


def configured_passphrase() -> str | None:
    """The passphrase the Pulumi CLI would use (PULUMI_CONFIG_PASSPHRASE, else PULUMI_CONFIG_PASSPHRASE_FILE)."""
    if "PULUMI_CONFIG_PASSPHRASE" in os.environ:
        return os.environ["PULUMI_CONFIG_PASSPHRASE"]
    file = os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    if file:
        try:
            return Path(file).read_text().rstrip("\r\n")
        except OSError as error:
            raise PassphraseError(f"PULUMI_CONFIG_PASSPHRASE_FILE: {error.strerror}") from None
    return None


def _decrypt(key: bytes, value: str) -> str:
    parts = value.split(":")
    if len(parts) != 3 or parts[0] != "v1":
        raise PassphraseError("a secure value is not a v1 passphrase ciphertext")
    try:
        nonce, ciphertext = base64.b64decode(parts[1]), base64.b64decode(parts[2])
        return AESGCM(key).decrypt(nonce, ciphertext, None).decode()
    except (ValueError, InvalidTag):
        raise PassphraseError("a secure value cannot be decrypted with this passphrase") from None


@functools.lru_cache(maxsize=8)
def _key(passphrase: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, 1_000_000, 32)


def decrypter(encryption_salt: str, passphrase: str) -> Callable[[str], str]:
    """A function decrypting this stack's `secure:` values; PassphraseError for a wrong passphrase."""
    parts = str(encryption_salt).split(":", 2)
    if len(parts) != 3 or parts[0] != "v1":
        raise PassphraseError("encryptionsalt is not a v1 passphrase state")
    try:
        salt = base64.b64decode(parts[1])
    except ValueError:
        raise PassphraseError("encryptionsalt is malformed") from None
    key = _key(passphrase, salt)
    try:
        check = _decrypt(key, parts[2])
    except PassphraseError:
        check = None
    if check != "pulumi":
        raise PassphraseError("incorrect passphrase (PULUMI_CONFIG_PASSPHRASE)")
    return functools.partial(_decrypt, key)
