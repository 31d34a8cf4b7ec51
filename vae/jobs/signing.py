"""What the web server and its Celery workers say to each other through Redis is signed with a
secret only they share (LATENT_LAB_WORKER_SECRET; not the Redis password, which every client of
that Redis has): a task, each line of a job's events and commands, and the digest of a run a worker
sends back. Whoever else reaches Redis can write there, but nothing they write is believed: a value
without the right signature is logged once and dropped. Each signature covers the job it belongs
to, so a line copied from one job's stream to another's is refused too."""

from __future__ import annotations

import hashlib
import hmac
import logging

from vae import settings as vae_settings
from vae.errors import ConfigError
from vae.settings import settings

SECRET_ENV = vae_settings.WORKER_SECRET
MIN_SECRET_BYTES = 16
MAX_LOGGED = 1000  # distinct bad values remembered, so each is logged once
log = logging.getLogger(__name__)


class Signer:
    def __init__(self, secret: bytes):
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigError(SECRET_ENV, f"must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret

    @classmethod
    def from_environment(cls) -> Signer:
        text = settings().worker_secret or ""
        if not text:
            raise ConfigError(SECRET_ENV, "is not set: the web server and its workers sign what they send each "
                                          "other with it. Make one with `python -c \"import secrets; "
                                          "print(secrets.token_hex(32))\"` and set it on every machine")
        if len(text.encode()) < 2 * MIN_SECRET_BYTES:
            raise ConfigError(SECRET_ENV, f"is too short: at least {2 * MIN_SECRET_BYTES} characters "
                                          "(secrets.token_hex(32) makes 64)")
        return cls(text.encode())

    def sign(self, *parts: bytes | str) -> str:
        """A signature over the parts, each length-prefixed (no two lists of parts sign alike)."""
        digest = hmac.new(self._secret, digestmod=hashlib.sha256)
        for part in parts:
            data = part.encode() if isinstance(part, str) else part
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        return digest.hexdigest()

    def verify(self, signature: bytes | str | None, *parts: bytes | str) -> bool:
        if isinstance(signature, bytes):
            signature = signature.decode("ascii", "replace")
        return isinstance(signature, str) and hmac.compare_digest(signature, self.sign(*parts))


class LogOnce:
    """Say each distinct rejected value once (a hostile writer repeats itself; the log should not)."""

    def __init__(self):
        self._seen: set[str] = set()

    def __call__(self, what: str, value: bytes | str | None) -> None:
        data = value.encode() if isinstance(value, str) else (value or b"")
        fingerprint = hashlib.sha256(what.encode() + b"\0" + data[:100_000]).hexdigest()
        if fingerprint in self._seen:
            return
        if len(self._seen) >= MAX_LOGGED:
            self._seen.clear()
        self._seen.add(fingerprint)
        log.warning("ignored %s from Redis (%d bytes): not from this class", what, len(data))


def _as_bytes(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def sign_entry(signer: Signer, kind: str, job_id: str, fields: dict) -> dict:
    """A stream entry's fields with their signature ("mac") over the kind, the job and every field."""
    return {**fields, "mac": signer.sign(kind, job_id, *_flat(fields))}


def entry_is_signed(signer: Signer, kind: str, job_id: str, fields: dict) -> bool:
    """Whether an entry read back (bytes keys and values) was signed for this kind and job."""
    fields = {_as_bytes(name): _as_bytes(value) for name, value in fields.items()}
    mac = fields.pop(b"mac", None)
    return signer.verify(mac, kind, job_id, *_flat(fields))


def _flat(fields: dict) -> list[bytes]:
    pairs = sorted((_as_bytes(name), _as_bytes(value)) for name, value in fields.items())
    return [part for pair in pairs for part in pair]
