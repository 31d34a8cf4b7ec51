"""The teacher code: random at each start (or fixed by LATENT_LAB_TEACHER_CODE), easy to read
aloud or off a screen, compared loosely (case, spaces, dashes) and in constant time."""

from __future__ import annotations

import hmac
import re
import secrets

from vae import settings as vae_settings
from vae.classroom.people import ClassroomError
from vae.i18n import _
from vae.settings import settings

TEACHER_CODE_ENV = vae_settings.TEACHER_CODE  # fixes the teacher code (otherwise a new one at each start)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or off a screen
CODE_LENGTH = 8
MIN_CODE_LENGTH = 10  # a fixed code lasts: it must not be guessable in a lesson (a new one each start has 8, random)


def new_teacher_code() -> str:
    code = "".join(secrets.choice(CODE_ALPHABET) for _index in range(CODE_LENGTH))
    return f"{code[:4]}-{code[4:]}"


def normalise_code(text: str) -> str:
    """What was typed, as compared: upper case, without spaces and dashes."""
    return re.sub(r"[\s-]", "", str(text)).upper()


def check_teacher_code(code: str) -> str:
    """A code fixed by the environment: at least MIN_CODE_LENGTH letters or digits."""
    if len(normalise_code(code)) < MIN_CODE_LENGTH or not normalise_code(code).isalnum():
        raise ClassroomError(_("{variable}: the teacher code must be at least {count} letters or digits").format(
            variable=TEACHER_CODE_ENV, count=MIN_CODE_LENGTH))
    return code


def fixed_teacher_code() -> str | None:
    """LATENT_LAB_TEACHER_CODE, checked, if it is set; ClassroomError if it is too short."""
    code = settings().teacher_code
    return check_teacher_code(code) if code else None


def code_matches(given: str, expected: str) -> bool:
    """In constant time: how long a comparison takes says nothing about how much of it matched."""
    return hmac.compare_digest(normalise_code(given).encode(), normalise_code(expected).encode())
