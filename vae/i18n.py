"""The interface's languages. Every word a person reads goes through `_` (gettext), `ngettext` for
counts, or is marked `N_` where it is written (a constant) and passed through `_` where it is shown.
Babel extracts the marked strings (`make messages`); a language is one file,
vae/locale/<code>/LC_MESSAGES/latent_lab.po, read as it is (no compiled .mo to keep in step).

Which language a call answers in is asked of a resolver the front end installs (the web app: the
session's choice); the core knows no session. Without one, or outside a session, it is English.
A message is written with named fields, `_("{count} runs").format(count=n)`, never an f-string:
the translation must be able to move the fields."""

from __future__ import annotations

import functools
import gettext as _gettext
import io
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

SOURCE_LANGUAGE = "en"  # the language the code is written in: it needs no catalog
DOMAIN = "latent_lab"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_resolver: Callable[[], str] = lambda: SOURCE_LANGUAGE  # noqa: E731
_this_thread = threading.local()  # a language set for a piece of work outside the session's run


def language_codes() -> tuple[str, ...]:
    """English, then every language with a catalog in vae/locale."""
    found = sorted(path.relative_to(LOCALE_DIR).parts[0] for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LANGUAGE, *found)


def language_of_locale(locale: str | None) -> str | None:
    """Which of our languages a browser's own (its navigator.language: "es-MX", "es", "en-US") asks
    for; None if none, or if the browser said nothing."""
    code = (locale or "").replace("_", "-").split("-")[0].strip().lower()
    return code if code in language_codes() else None


def available_languages() -> dict[str, str]:
    """Code → the language's name in itself ("es" → "Español")."""
    return {code: native_name(code) for code in language_codes()}


def native_name(code: str) -> str:
    from babel import Locale

    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def catalog_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.lru_cache(maxsize=16)
def translations(code: str) -> _gettext.NullTranslations:
    """The catalog of one language (fuzzy entries left out: a guess is not a translation)."""
    path = catalog_path(code)
    if code == SOURCE_LANGUAGE or not path.is_file():
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as po:
        catalog = read_po(po, locale=code, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


def set_language_resolver(resolver: Callable[[], str]) -> None:
    """Install how to tell the language of the current caller (the web app does, at import)."""
    global _resolver
    _resolver = resolver


@contextmanager
def in_language(code: str) -> Iterator[None]:
    """Answer in `code` in this thread for the block: for work done outside the session's run (a
    download built when it is clicked, in a thread of its own), with the language taken while the
    page ran."""
    before = getattr(_this_thread, "code", None)
    _this_thread.code = code
    try:
        yield
    finally:
        _this_thread.code = before


def current_language() -> str:
    if getattr(_this_thread, "code", None):
        return _this_thread.code
    try:
        return _resolver()
    except Exception:  # outside a session (a worker's thread, a test): the source language
        return SOURCE_LANGUAGE


def gettext(message: str) -> str:
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return translations(current_language()).ngettext(singular, plural, count)


def N_(message: str) -> str:  # noqa: N802 (gettext's own name for "mark, translate later")
    """Mark a string for the catalog where it is written; `_` translates it where it is shown."""
    return message


_ = gettext


# --- Sentences written in English elsewhere (another process, a thread with no session) -------------

_FIELD = re.compile(r"\{(\w+)(?:![rsa])?(?::[^}]*)?\}")


@functools.lru_cache(maxsize=256)
def _template_pattern(template: str) -> re.Pattern:
    """A template with named fields as a pattern that reads them back out of its English sentence."""
    parts, last = [], 0
    for field in _FIELD.finditer(template):
        parts += [re.escape(template[last:field.start()]), f"(?P<{field.group(1)}>.+?)"]
        last = field.end()
    return re.compile("".join(parts) + re.escape(template[last:]))


def say_again(sentence: str, templates: tuple[str, ...]) -> str:
    """A sentence some other process wrote in English, from one or more of `templates` (marked N_)
    run together, said in the current language: each template's fields are read back out of the
    English and put into its translation, as they were written (numbers keep their English format).
    A part no template matches is looked up as a fixed sentence, or left as it is."""
    said, rest = [], sentence.strip()
    while rest:
        for template in templates:
            found = _template_pattern(template).match(rest)
            if found and (found.end() == len(rest) or rest[found.end()] == " "):
                said.append(_FIELD.sub(r"{\1}", gettext(template)).format(**found.groupdict()))
                rest = rest[found.end():].strip()
                break
        else:
            said.append(gettext(rest))
            break
    return " ".join(said)
