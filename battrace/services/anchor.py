"""External anchors: the head of every chain, signed with the platform's Ed25519 key, kept elsewhere.

``verify`` alone proves the log consistent with itself; someone with write access to the database
could still rewrite an event *and* every hash after it. An anchor written out of reach (a file on
another machine, a URL of a notary or regulator) on a schedule closes that gap: it holds, at one
moment, every stream's last ``(version, link hash)``, each side chain's last ``(seq, hash)`` and the
log's last ``(seq, event hash)``. ``verify --anchor FILE`` checks the signature and that each of
those is still in the log, so a consistent rewrite of anything anchored is named.

The anchor document: ``{"anchor": {...payload...}, "public_key": hex, "signature": hex}``; the
signature covers the payload's canonical JSON.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from battrace.domain.events import canonical_json
from battrace.errors import InvalidAnchor
from battrace.storage import chain, verification
from battrace.storage.store import Store

FORMAT = 1


def generate_key(path: Path) -> Path:
    """Write a new private key (PEM, mode 0600) at ``path`` and its public key at ``path.pub``."""
    if path.exists():
        raise InvalidAnchor(f"{path} exists; refusing to overwrite a key", path=str(path))
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = _public_path(path)
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return public


def _public_path(path: Path) -> Path:
    return path.with_name(path.name + ".pub")


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise InvalidAnchor(f"cannot read the anchor key {path}: {exc}", path=str(path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidAnchor(f"{path} is not an Ed25519 private key", path=str(path))
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key (PEM), or the public half of a private key file."""
    try:
        data = path.read_bytes()
        if b"PRIVATE KEY" in data:
            return load_private_key(path).public_key()
        key = serialization.load_pem_public_key(data)
    except (OSError, ValueError, TypeError) as exc:
        raise InvalidAnchor(f"cannot read the public key {path}: {exc}", path=str(path)) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidAnchor(f"{path} is not an Ed25519 public key", path=str(path))
    return key


def _raw(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def make_anchor(store: Store, key: Ed25519PrivateKey, now: datetime) -> dict[str, Any]:
    """The signed anchor of the database as it is now."""
    with store.reader() as conn:
        heads = {stream: [version, digest] for stream, version, digest in verification.stream_heads(conn)}
        chains = {name: list(head) for name, head in chain.heads(conn).items()}
        seq = verification.max_seq(conn)
        log = [seq, verification.event_hash_at(conn, seq) if seq else None]
    payload = {"format": FORMAT, "signed_at": now.isoformat(), "log": log, "chains": chains, "heads": heads}
    signature = key.sign(canonical_json(payload).encode())
    return {"anchor": payload, "public_key": _raw(key.public_key()), "signature": signature.hex()}


def write_anchor(doc: dict[str, Any], out: Path) -> None:
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(canonical_json(doc) + "\n", encoding="utf-8")
    tmp.replace(out)


def send_anchor(doc: dict[str, Any], url: str, *, timeout: float = 30.0) -> int:
    """POST the anchor as JSON to ``url``; return the HTTP status (a non-2xx is an error)."""
    import httpx

    try:
        response = httpx.post(url, content=canonical_json(doc).encode(), timeout=timeout,
                              headers={"Content-Type": "application/json"})
    except httpx.HTTPError as exc:
        raise InvalidAnchor(f"could not send the anchor to {url}: {exc}", url=url) from None
    if not 200 <= response.status_code < 300:
        raise InvalidAnchor(f"{url} answered {response.status_code} to the anchor", url=url,
                            status_code=response.status_code)
    return response.status_code


def read_anchor(path: Path, public_key: Ed25519PublicKey | None = None) -> tuple[dict[str, Any], bool]:
    """The anchor's payload once its signature checks, and whether it was checked against the given
    (trusted) key rather than only the key the file names."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        payload, signature, named = doc["anchor"], bytes.fromhex(doc["signature"]), doc["public_key"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidAnchor(f"{path} is not an anchor file: {exc}", path=str(path)) from None
    if public_key is not None and _raw(public_key) != named:
        raise InvalidAnchor(f"{path} was signed by another key than the platform's", path=str(path))
    try:
        key = public_key or Ed25519PublicKey.from_public_bytes(bytes.fromhex(named))
        key.verify(signature, canonical_json(payload).encode())
    except (InvalidSignature, ValueError):
        raise InvalidAnchor(f"{path}: the signature does not match its content (the anchor was altered)",
                            path=str(path)) from None
    if payload.get("format") != FORMAT:
        raise InvalidAnchor(f"{path}: anchor format {payload.get('format')!r} is not {FORMAT}", path=str(path))
    return payload, public_key is not None
