"""The class's Redis (LATENT_LAB_BROKER), trusted only as far as it should be: its address is
checked before anything connects (a Redis on another machine must be reached with a password),
a refused password is one sentence, and the password itself is never printed — every message
names the broker by `redacted(url)`.

`check_setup()` is what every process of the class runs first (`python -m vae.settings --check`
for `make app`, the launcher, a worker): one sentence if the broker cannot be used."""

from __future__ import annotations

import ipaddress
import logging
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from vae import settings as vae_settings
from vae.errors import ConfigError, LabError
from vae.jobs.signing import Signer
from vae.settings import settings

BROKER_ENV = vae_settings.BROKER
CHECK_SECONDS = 5.0
log = logging.getLogger(__name__)


class BrokerError(LabError):
    """The broker cannot be used: it refused the password, or does not answer."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_broker_url(url: str) -> str:
    """The broker's address as Celery and redis-py take it, or a ConfigError naming what is wrong
    (never the password). Judged on the URL alone, before any connection: a host other than this
    machine needs a password; rediss:// verifies the server's certificate unless told otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(BROKER_ENV, "is not a valid address (expected redis://:PASSWORD@host:6379/0)") from None
    if parts.scheme not in ("redis", "rediss"):
        raise ConfigError(BROKER_ENV, f"must start with redis:// or rediss://, not {parts.scheme or '(nothing)'}://")
    host = parts.hostname or ""
    if not host:
        raise ConfigError(BROKER_ENV, "names no host (expected redis://:PASSWORD@host:6379/0)")
    if not parts.password and not is_loopback(host):
        raise ConfigError(BROKER_ENV, f"reaches Redis on {host} without a password: anyone on the network could "
                                      "then read and write the class's jobs. Set requirepass in Redis and give it "
                                      "as redis://:PASSWORD@host:port/0 (README: training past one machine)")
    if parts.path not in ("", "/") and not parts.path.lstrip("/").isdigit():
        raise ConfigError(BROKER_ENV, f"names database {parts.path.lstrip('/')[:20]!r}: it must be a number, as /0")
    if port is not None and not 0 < port < 65536:
        raise ConfigError(BROKER_ENV, "has a port outside 1–65535")
    query = dict(parse_qsl(parts.query))
    if parts.scheme == "rediss" and "ssl_cert_reqs" not in query:
        query["ssl_cert_reqs"] = "required"  # Celery refuses rediss:// without it; verifying is the safe choice
    return urlunsplit(parts._replace(query=urlencode(query)))


def redacted(url: str) -> str:
    """The address as it may be shown: scheme, host, port and database, never a user or password."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an address that cannot be read)"
    secret = "***@" if parts.password or parts.username else ""
    return f"{parts.scheme}://{secret}{host}{port}{parts.path}"


def broker_from_environment() -> str | None:
    """LATENT_LAB_BROKER, checked: None (the local queue) when unset."""
    url = settings().broker
    return check_broker_url(url) if url else None


def check_broker_answers(url: str, timeout: float = CHECK_SECONDS) -> None:
    """Connect once and PING: a BrokerError in one sentence if Redis refuses the password (or asks
    for one that was not given) or does not answer within `timeout`."""
    where = redacted(url)
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    except (redis.AuthenticationError, redis.ResponseError) as error:
        if (not urlsplit(url).password and isinstance(error, redis.AuthenticationError)) or "NOAUTH" in str(error):
            raise BrokerError(f"the Redis server at {where} asks for a password, and {BROKER_ENV} gives none") from None
        if isinstance(error, redis.AuthenticationError) or "WRONGPASS" in str(error):
            raise BrokerError(f"the Redis server at {where} refused the password in {BROKER_ENV}") from None
        raise BrokerError(f"the Redis server at {where} answered with an error ({str(error)[:80]})") from None
    except redis.RedisError as error:
        if "CERTIFICATE_VERIFY_FAILED" in str(error) or "certificate verify failed" in str(error):
            raise BrokerError(f"the Redis server at {where} shows a TLS certificate this machine does not trust: "
                              "give the class's CA as ?ssl_ca_certs=/path/to/ca.crt") from None
        raise BrokerError(f"the Redis server at {where} does not answer ({type(error).__name__})") from None
    finally:
        client.close()


def check_setup() -> str | None:
    """The broker in the environment, if any, checked as every process of the class needs it: its
    address, the shared secret that signs what travels through it, and that it answers to its
    password. LabError in one sentence otherwise."""
    url = broker_from_environment()
    if url:
        Signer.from_environment()
        check_broker_answers(url)
    return url



def with_retries(action, what: str, seconds: float):
    """`action()`, tried again with a growing pause (0.1 s up to 2 s) while Redis does not answer,
    so a Redis restart loses nothing; after `seconds`, its error. The first failure is logged once:
    "Redis does not answer (…); <what> when it does"."""
    deadline, pause, said = time.monotonic() + seconds, 0.1, False
    while True:
        try:
            return action()
        except redis.RedisError as error:
            if time.monotonic() + pause > deadline:
                raise
            if not said:
                log.warning("Redis does not answer (%s); %s when it does", error, what)
                said = True
            time.sleep(pause)
            pause = min(2.0, 2 * pause)
