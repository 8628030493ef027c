"""Schemathesis hooks for the Assure API: the string formats its OpenAPI
document names and JSON Schema cannot state whole.

- ``did-key``: a did:key of an ed25519 public key. The pattern in the
  document gives its shape; the key must also be a point on the curve,
  which no pattern can say. Generated from random seeds, so every one is a
  key a node accepts.
- ``assure-cursor``: the ``next`` of a record page (unpadded base64url of
  a time in microseconds, an author's key, a compartment id and an index),
  generated as positions a node could have written.
- ``application/toml`` (the profile ``POST /v1/admin/verify/{did}``
  takes) goes on the wire as text, as ``text/plain`` does.

schemathesis.toml beside this file loads it (``hooks = "hooks"``) when
``schemathesis run`` starts in this directory, as the test does.
"""

import base64

import schemathesis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import strategies as st
from hypothesis.internal import lambda_sources

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, digit = divmod(number, 58)
        text = ALPHABET[digit] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def public_key(seed: bytes) -> bytes:
    key = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def did(seed: bytes) -> str:
    return "did:key:z" + base58(b"\xed\x01" + public_key(seed))


# Times a node writes: 1970 to 9999, in microseconds.
MICROS = st.integers(min_value=0, max_value=253_402_300_799_000_000)


def cursor(parts) -> str:
    micros, seed, compartment, index = parts
    raw = (
        micros.to_bytes(8, "big", signed=True)
        + public_key(seed)
        + compartment
        + index.to_bytes(8, "big")
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


SEEDS = st.binary(min_size=32, max_size=32)

schemathesis.openapi.format("did-key", SEEDS.map(did))
schemathesis.openapi.format(
    "assure-cursor",
    st.tuples(
        MICROS,
        SEEDS,
        st.binary(min_size=16, max_size=16),
        st.integers(min_value=0, max_value=2**63 - 1),
    ).map(cursor),
)


# CPython before 3.11.8 and 3.12.2 can raise SystemError ("AST constructor
# recursion depth mismatch", gh-106905) when Hypothesis parses a lambda's
# source, deep in a stack, only to name a strategy in its repr. The name
# is cosmetic: fall back to a plain one rather than erroring the run.
_describe = lambda_sources.lambda_description


def _lambda_description(f):
    try:
        return _describe(f)
    except SystemError:
        return "lambda"


lambda_sources.lambda_description = _lambda_description
schemathesis.serializer.alias("application/toml", "text/plain")
