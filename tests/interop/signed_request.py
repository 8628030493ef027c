#!/usr/bin/env python3
"""Reads a partner's records from an Assure node with a request signed as
README.md ("Signed requests") describes, by an implementation that shares
no code with Assure: the PyPI packages http-message-signatures (RFC 9421),
requests and cryptography.

    python3 signed_request.py KEY_PEM BASE_URL PATH PURPOSE EXPECTED

KEY_PEM is the organization's key (`key.pem` of `assure init`, PKCS#8).
Exits 0 when the node answers 200 with EXPECTED in the body and refuses the
same request sent a second time; prints what went wrong otherwise.
"""

import datetime
import email.utils
import hashlib
import base64
import secrets
import sys

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def did_key(public_key: bytes) -> str:
    """did:key of an ed25519 public key: multicodec 0xed 0x01, base58btc, 'z'."""
    data = b"\xed\x01" + public_key
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, digit = divmod(number, 58)
        text = BASE58[digit] + text
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "did:key:z" + "1" * zeros + text


def read_key(path):
    # key.pem is PKCS#8 v1 (RFC 8410), which cryptography reads as it is.
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit("%s: not an ed25519 key.pem of `assure init`" % path)
    return key


class OneKey(HTTPSignatureKeyResolver):
    def __init__(self, key):
        self.key = key

    def resolve_private_key(self, key_id):
        return self.key

    def resolve_public_key(self, key_id):
        return self.key.public_key()


def signed(key, did, method, url, purpose, body=b""):
    headers = {
        "Date": email.utils.formatdate(usegmt=True),
        "Content-Digest": "sha-256=:%s:" % base64.b64encode(hashlib.sha256(body).digest()).decode(),
        "Assure-Purpose": purpose,
    }
    request = requests.Request(method, url, headers=headers, data=body or None).prepare()
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=OneKey(key))
    signer.sign(
        request,
        key_id=did,
        created=datetime.datetime.now(datetime.timezone.utc),
        nonce=secrets.token_hex(12),
        label="py",
        body=body,
        use_existing_digest=True,
        covered_component_ids=(
            "@method",
            "@authority",
            "@scheme",
            "@path",
            "@query",
            "date",
            "content-digest",
            "assure-purpose",
        ),
    )
    return request


def main():
    key_pem, base, path, purpose, expected = sys.argv[1:6]
    key = read_key(key_pem)
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    did = did_key(public)
    request = signed(key, did, "GET", base.rstrip("/") + path, purpose)
    print("Signature-Input:", request.headers["Signature-Input"])
    with requests.Session() as session:
        answer = session.send(request, timeout=20)
        if answer.status_code != 200 or expected not in answer.text:
            print("expected 200 with %r, got %d: %s" % (expected, answer.status_code, answer.text))
            return 1
        again = session.send(request, timeout=20)
        if again.status_code != 401 or "already used" not in again.text:
            print("a replay was not refused: %d %s" % (again.status_code, again.text))
            return 1
    print("ok: %s read %d bytes as %s; the replay was refused" % (path, len(answer.content), did))
    return 0


if __name__ == "__main__":
    sys.exit(main())
