"""Which language this browser reads the app in (vae.i18n translates). Chosen, in order: by `?lang=es`
in the address (a link a teacher shares), by the picker in the sidebar, remembered in a cookie of this
browser, else the class's language if the teacher set one (LATENT_LAB_LANGUAGE), else the browser's
own (a student's phone set to Spanish opens the app in Spanish: on a phone the sidebar's picker is
out of sight), else English. `<html lang>` follows it (ui/a11y), so a screen reader speaks the page
in the right voice."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui.cookie.mount import set_cookie
from vae import i18n
from vae.i18n import _
from vae.settings import settings

LANGUAGE = "language"  # session key: the language code in force
CHOSEN = "language_chosen"  # session key: set once the person (or their link) chose it: then remembered
PICKER = "language_picker"
COOKIE = "latent_lab_lang"
COOKIE_MAX_AGE_SECONDS = 365 * 24 * 3600
QUERY = "lang"
T = TypeVar("T")


def session_language() -> str:
    """The language of the session running this thread; the class's default outside one."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return settings().language or i18n.SOURCE_LANGUAGE
    return st.session_state.get(LANGUAGE) or first_language()


i18n.set_language_resolver(session_language)


def first_language() -> str:
    """A browser's language before it chooses one: the class's, else its own if we have it, else English."""
    return settings().language or i18n.language_of_locale(st.context.locale) or i18n.SOURCE_LANGUAGE


def choose_language() -> str:
    """First on every run: the address's `?lang=`, else what this session chose, else this browser's
    cookie, else its first language. An unknown code in the address is ignored (the page still opens)."""
    codes = i18n.language_codes()
    asked = st.query_params.get(QUERY)
    if asked in codes:
        st.session_state[LANGUAGE], st.session_state[CHOSEN] = asked, True
    elif st.session_state.get(LANGUAGE) not in codes:
        remembered = st.context.cookies.get(COOKIE)
        st.session_state[LANGUAGE] = remembered if remembered in codes else first_language()
    return st.session_state[LANGUAGE]


def _picked() -> None:
    st.session_state[LANGUAGE], st.session_state[CHOSEN] = st.session_state[PICKER], True
    if st.query_params.get(QUERY):  # the picker overrides the address from now on
        st.query_params[QUERY] = st.session_state[PICKER]


def language_picker() -> None:
    """The sidebar's picker, each language named in itself; the choice is kept in this browser."""
    languages = i18n.available_languages()
    code = choose_language()
    st.session_state[PICKER] = code
    st.selectbox(_("Language"), list(languages), format_func=languages.get, key=PICKER,
                 on_change=_picked, help=_("The language of the whole app; this browser remembers it."))
    if st.session_state.get(CHOSEN):  # a default is not a choice: a later class default still applies
        set_cookie(COOKIE, code, COOKIE_MAX_AGE_SECONDS, key="language_cookie")


def in_this_language(work: Callable[[], T]) -> Callable[[], T]:
    """`work`, to be run later outside this run (a download built when it is clicked, in a thread of
    its own, where no session is known), in the language this page is shown in now."""
    code = i18n.current_language()

    def run_in_language() -> T:
        with i18n.in_language(code):
            return work()

    return run_in_language


def labels_now(options, label: Callable[[object], str]) -> Callable[[object], str]:
    """A selector's format_func whose words are taken now, in this run's language: Streamlit may call
    format_func again later, outside the session (AppTest does, between runs), where `_` would
    answer in the default language and the shown option would no longer be found."""
    shown = {option: label(option) for option in options}
    return lambda option: shown.get(option, str(option))
