"""Who is who in classroom mode, and who may see or change what. Nobody has an account: the
teacher is whoever enters the code printed where the app started; everyone else is a student,
known by a name they type and a secret key their browser keeps (a cookie, never the address bar,
so nothing on a projected screen or in a shared link grants a right), of which runs and jobs store
only a hash. Pure Python: every action asks these functions where it acts."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass

from vae.errors import LabError
from vae.i18n import N_, _

NAME_PATTERN = re.compile(r"[^\W_][\w .'-]{0,23}")  # any script's letters and digits; 1-24 characters
THIS_MACHINE = N_("this machine")  # the address of a session on the server's own machine (loopback); _() if shown
MAX_NAMES_PER_DEVICE = 4  # students who may name themselves from one address (a shared lab computer)

TEACHER, STUDENT, LOCAL = "teacher", "student", "local"


class ClassroomError(LabError):
    """A request classroom mode refuses, in one sentence for the person who made it."""



# Letters of other scripts that look like Latin ones, and digits that look like letters, as a case-
# folded name shows them: the skeleton two names are compared by (after Unicode TS #39's idea of a
# confusables skeleton; the few a class can type, not its whole table).
LOOK_ALIKES = str.maketrans({
    **dict(zip("авеёзіїјкмнорстухѕԁһԛԝӏ", "abee3iijkmhopctyxsdhqwl", strict=True)),  # Cyrillic
    **dict(zip("αβεηικνορτυχϲμ", "abenikvoptuxcu", strict=True)),  # Greek
    "0": "o", "1": "l", "ı": "i",
})


def validate_student_name(name: str) -> str:
    """The name as the class will see it (NFKC: full-width and other compatibility forms become
    plain letters), or one sentence saying what is wrong with it."""
    name = " ".join(unicodedata.normalize("NFKC", str(name)).split())
    if not NAME_PATTERN.fullmatch(name):
        raise ClassroomError(_("Your name: 1–24 letters, digits, spaces, ' . - or _, starting with a letter or "
                                "digit."))
    if "teacher" in name_identity(name):
        raise ClassroomError(_("Names with “teacher” in them are kept for the teacher: type your own name."))
    return name


def name_identity(name: str) -> str:
    """What makes two names the same person's on a screen: case, spaces, punctuation and look-alike
    letters aside ("Аda" with a Cyrillic А is Ada; "ｔｅａｃｈｅｒ" is teacher)."""
    folded = unicodedata.normalize("NFKC", name).casefold().translate(LOOK_ALIKES).replace("rn", "m")
    return "".join(character for character in folded if character.isalnum())


def new_student_key() -> str:
    return secrets.token_urlsafe(16)


def key_hash(key: str) -> str:
    """What runs and jobs keep of a student's secret key: enough to recognise it, not to use it."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Person:
    """Who is asking. LOCAL: not in classroom mode, everyone may do everything (as before)."""

    role: str
    name: str = ""
    key_hash: str = ""  # a student's; empty for the teacher and in local mode
    browser: str = ""  # the hash of this browser's key, whatever the role: which jobs are "yours"
    address: str = THIS_MACHINE  # the connection's address: the device a limit counts

    @property
    def is_teacher(self) -> bool:
        return self.role in (TEACHER, LOCAL)

    def owner(self) -> dict | None:
        """What a run or job records of whoever made it (None in local mode)."""
        if self.role == LOCAL:
            return None
        return {"role": self.role, "name": self.name, "key": self.key_hash}


def owner_role(owner: dict | None) -> str:
    """A run or job with no owner was made outside classroom mode: the teacher's, prepared before class."""
    return owner.get("role", TEACHER) if isinstance(owner, dict) else TEACHER


def student_name(owner: dict | None) -> str | None:
    """The name of the student who made a run or job; None for the teacher's (and local ones)."""
    return str(owner.get("name", "?")) if owner_role(owner) == STUDENT else None


def owns(person: Person, owner: dict | None) -> bool:
    return (person.role == STUDENT and bool(person.key_hash) and owner_role(owner) == STUDENT
            and hmac.compare_digest(str(owner.get("key", "")), person.key_hash))


def may_see(person: Person, owner: dict | None) -> bool:
    """Students see the teacher's runs and their own; the teacher sees everything."""
    return person.is_teacher or owner_role(owner) == TEACHER or owns(person, owner)


def may_change(person: Person, owner: dict | None) -> bool:
    """Delete a run, stop or cancel a job: the teacher any, a student only their own."""
    return person.is_teacher or owns(person, owner)


def require_teacher(person: Person) -> None:
    if not person.is_teacher:
        raise ClassroomError(_("Only the teacher can do that."))
