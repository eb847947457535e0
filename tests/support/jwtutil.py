"""Build and forge JWTs the way an attacker would, for the token tests.

The gateway derives its HS256 key from JMAPGATE_SECRET with HKDF-SHA256
(empty salt, info "jmapgate jwt hs256 v1"); the tests know the secret, so
they can re-sign a modified token with the right key and show that the
claim checks, not only the signature check, reject it.
"""
import base64
import hashlib
import hmac
import json


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hkdf_sha256(ikm: bytes, info: bytes, length: int = 32) -> bytes:
    prk = hmac.new(b"\0" * 32, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def jwt_key(secret_hex: str) -> bytes:
    return hkdf_sha256(bytes.fromhex(secret_hex), b"jmapgate jwt hs256 v1")


def split(token: str):
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), s


def sign(header: dict, payload: dict, key: bytes, alg: str = "HS256") -> str:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(key, f"{head}.{body}".encode(), digest).digest()
    return f"{head}.{body}.{b64url(mac)}"


def unsigned(header: dict, payload: dict) -> str:
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    return f"{head}.{body}."
