"""The interface in a second language (vae.i18n, ui.language): every message the code marks is in the
Spanish catalog, translated, with the same fields; the language is chosen by the address, the sidebar
or the class's default and kept by the session; every page, in local mode and in classroom mode as a
student and as the teacher, shows no English word when it is in Spanish (AppTest); outside a session,
English."""

from __future__ import annotations

import json
import re
import shutil
import string

import pytest
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po
from streamlit.testing.v1 import AppTest

from tests.conftest import TINY
from tests.support.harness import ROOT
from tests.test_classroom_mode import class_mode, class_runs, open_as, sign_in  # noqa: F401 (fixtures)
from tests.test_pages import APP, PAGES, TIMEOUT, app_env, train_page_runs  # noqa: F401 (app_env: a fixture)
from vae import i18n
from vae.training.lab import train_and_save

SOURCES = ("pages", "ui", "vae")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
# Words that read the same in both languages or are names, never English prose on a Spanish page:
# run and student names of the fixtures, the data sets, the tutorial's and the math's own words.
NOT_ENGLISH = {"mnist", "fashion", "keras", "tensorflow", "elbo", "relu", "sigmoid", "dense", "rmsprop", "adam",
               "latent", "lab", "vae", "prepared", "adas", "bobs", "ada", "bob", "streamlit", "numpy", "python",
               "conv", "png", "qr", "url", "kl", "bce", "mse", "iw", "nats", "max", "min", "told", "first"}


def extracted() -> dict[str, str | tuple[str, str]]:
    """Every message the code marks (as `make messages` extracts them): id → singular or (singular, plural)."""
    found = list(extract_from_file("python", ROOT / "app.py", keywords=KEYWORDS))
    for folder in SOURCES:
        found += [entry[1:] for entry in extract_from_dir(ROOT / folder, method_map=[("**.py", "python")],
                                                          keywords=KEYWORDS)]
    return {(message[0] if isinstance(message, tuple) else message): message for _line, message, *_rest in found}


def spanish_catalog():
    with i18n.catalog_path("es").open("rb") as po:
        return read_po(po, locale="es")


def fields(text: str) -> list[str]:
    return sorted(f"{name}:{spec}" for _literal, name, spec, _conversion in string.Formatter().parse(text)
                  if name is not None)


def test_every_marked_message_is_in_the_spanish_catalog_translated_with_the_same_fields():
    messages, catalog = extracted(), spanish_catalog()
    assert len(messages) > 500  # the whole interface is marked, not a sample
    missing, problems = [], []
    for key, message in messages.items():
        entry = catalog.get(key)
        if entry is None or entry.fuzzy or not all(entry.string if isinstance(entry.string, tuple) else
                                                   [entry.string]):
            missing.append(key)
            continue
        translations = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        plural = message[1] if isinstance(message, tuple) else key
        for translated in translations:
            if fields(translated) not in (fields(key), fields(plural)):
                problems.append((key, translated))
            if translated.count("`") % 2 != key.count("`") % 2:
                problems.append((key, translated))
    assert not missing, f"{len(missing)} messages not translated (make messages; vae/locale/es): {missing[:10]}"
    assert not problems, f"translations whose fields or code spans differ from the English: {problems[:5]}"
    stale = [entry.id for entry in catalog if entry.id and
             (entry.id[0] if isinstance(entry.id, tuple) else entry.id) not in messages]
    assert not stale, f"the catalog holds messages the code no longer has (make messages drops them): {stale[:10]}"


def test_outside_a_session_the_core_speaks_english_and_a_resolver_picks_the_language(monkeypatch):
    assert i18n.gettext("Active run") == "Active run"
    assert i18n.available_languages() == {"en": "English", "es": "Español"}
    monkeypatch.setattr(i18n, "_resolver", lambda: "es")
    assert i18n.gettext("Active run") == "Ejecución activa"
    assert i18n.ngettext("{count} run could not be read", "{count} runs could not be read", 2).format(
        count=2) == "No se pudieron leer 2 ejecuciones"
    monkeypatch.setattr(i18n, "_resolver", lambda: 1 / 0)  # a resolver that fails: English, never a crash
    assert i18n.gettext("Active run") == "Active run"


def test_a_jobs_sentence_written_in_english_by_the_queue_is_said_again_in_the_readers_language(monkeypatch):
    from vae.jobs.job import JOB_SENTENCES, SAVED, TIME_LIMIT_REACHED

    written = (SAVED.format(run="'default-1'", elbo="153.9", epochs=10) + " "
               + TIME_LIMIT_REACHED.format(minutes="5"))
    assert i18n.say_again(written, JOB_SENTENCES) == written  # English: as written
    monkeypatch.setattr(i18n, "_resolver", lambda: "es")
    assert i18n.say_again(written, JOB_SENTENCES) == (
        "Ejecución 'default-1' guardada: −ELBO de prueba 153.9 tras 10 épocas. Llegó al límite de tiempo de esta "
        "clase (5 min) y se detuvo; se conservó la ejecución parcial.")
    assert i18n.say_again("Cancelled before it started.", JOB_SENTENCES) == "Cancelado antes de empezar."
    assert i18n.say_again("Something no template knows.", JOB_SENTENCES) == "Something no template knows."


# --- Choosing the language (AppTest) -------------------------------------------------------------


def open_app(page: str | None = None, lang: str | None = None, key: str | None = None) -> AppTest:
    return open_as(page, student_key=key, lang=lang)


def picker(at: AppTest):
    return at.sidebar.selectbox(key="language_picker")


def test_the_address_opens_spanish_and_the_session_keeps_it_until_the_picker_changes_it(runs_dir):
    at = open_app(lang="es")
    assert picker(at).value == "es" and picker(at).label == "Idioma (Language)"  # found by one who reads neither
    assert at.title[0].value == "Explorador latente"
    picker(at).set_value("en").run()
    assert at.title[0].value == "Latent explorer" and at.query_params["lang"] == "en"
    at.switch_page("pages/train.py").run()  # AppTest runs a page alone: the session's choice holds
    assert at.title[0].value == "Train a model"
    at = open_app("pages/train.py", lang="es")
    assert at.title[0].value == "Entrenar un modelo"
    del at.query_params["lang"]  # a page reached with no ?lang= (the navigation's links carry none)
    at.switch_page("pages/runs.py").run()
    assert at.title[0].value == "Comparar ejecuciones"  # the session kept Spanish, not the address


def test_an_unknown_language_in_the_address_is_ignored(runs_dir):
    at = open_app(lang="xx")
    assert picker(at).value == "en" and at.title[0].value == "Latent explorer"


def test_the_class_default_is_a_setting(runs_dir, monkeypatch):
    monkeypatch.setenv("LATENT_LAB_LANGUAGE", "es")
    at = open_app()
    assert picker(at).value == "es" and at.title[0].value == "Explorador latente"
    assert open_app(lang="en").title[0].value == "Latent explorer"  # a link still overrides it


def open_in_browser_language(locale: str, lang: str | None = None) -> AppTest:
    """The explorer as a browser whose own language (navigator.language) is `locale` opens it."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.context = {"locale": locale}
    if lang:
        at.query_params["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_browser_in_spanish_opens_the_app_in_spanish_unless_the_class_or_a_link_says_otherwise(runs_dir,
                                                                                                  monkeypatch):
    monkeypatch.delenv("LATENT_LAB_LANGUAGE", raising=False)
    at = open_in_browser_language("es-MX")
    assert picker(at).value == "es" and at.title[0].value == "Explorador latente"
    assert open_in_browser_language("fr-FR").title[0].value == "Latent explorer"  # none of ours: English
    assert open_in_browser_language("es-ES", lang="en").title[0].value == "Latent explorer"
    monkeypatch.setenv("LATENT_LAB_LANGUAGE", "en")  # the teacher set the class's language
    assert open_in_browser_language("es-ES").title[0].value == "Latent explorer"


def test_a_browsers_locale_names_one_of_our_languages_or_none():
    assert [i18n.language_of_locale(locale) for locale in ("es-MX", "es", "ES_es", "en-US", "fr-FR", "", None)] == [
        "es", "es", "es", "en", None, None, None]


# --- No English on a Spanish page ----------------------------------------------------------------

TEXT_FIELDS = {"label", "help", "body", "caption", "placeholder", "text", "options", "title", "description"}
SKIPPED = {"code", "html", "exception"}  # code is code; st.html carries styles; exceptions fail the test anyway


def shown_texts(at: AppTest) -> list[str]:
    """Every string a person reads on the page: headings, prose, captions, widget labels, help and
    options, tab and expander labels, table headers, chart titles and hover text, and the words
    passed to the custom components."""
    texts = []
    for node in at._tree:
        kind = getattr(node, "type", "")
        if kind in SKIPPED or getattr(node, "proto", None) is None:
            continue
        if kind == "plotly_chart":
            texts += chart_texts(json.loads(node.proto.spec))
        elif kind == "bidi_component" and node.proto.WhichOneof("data") == "json":
            texts += component_texts(json.loads(node.proto.json))
        elif kind in ("dataframe", "table"):  # st.dataframe's and st.table's (AppTest's names for them)
            texts += table_headers(node)
        else:
            texts += list(proto_texts(node.proto))
    return texts


def table_headers(table) -> list[str]:
    """A table's column names and its index's names, as its header shows them."""
    frame = table.value
    return [str(name) for name in (*frame.columns, *frame.index.names) if name is not None]


def proto_texts(message):
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        if field.type == field.TYPE_MESSAGE:
            for item in values:
                yield from proto_texts(item)
        elif field.type == field.TYPE_STRING and field.name in TEXT_FIELDS:
            yield from values


def chart_texts(spec) -> list[str]:
    """A plotly figure's words: titles, trace names, hover templates, annotation and tick texts."""
    found = []
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key in ("text", "title", "name", "hovertemplate", "ticktext") and isinstance(value, str):
                found.append(value)
            elif key in ("text", "ticktext") and isinstance(value, list):
                found += [item for item in value if isinstance(item, str)]
            else:
                found += chart_texts(value)
    elif isinstance(spec, list):
        for item in spec:
            found += chart_texts(item)
    return found


def component_texts(data) -> list[str]:
    """The words a component is given to show (its `text` entries)."""
    if isinstance(data, dict):
        found = [value for key, value in data.items() if key == "text" and isinstance(value, str)]
        for key, value in data.items():
            if key == "text" and isinstance(value, dict):
                found += [item for item in value.values() if isinstance(item, str)]
            elif isinstance(value, dict | list):
                found += component_texts(value)
        return found
    if isinstance(data, list):
        return [text for item in data for text in component_texts(item)]
    return []


def words(text: str) -> set[str]:
    # Code is code: spans in backticks, identifiers and file names (pixels_to_float · vae/data.py).
    text = re.sub(r"```.*?```|`[^`]*`|<[^>]+>|https?://\S+|\{[a-z_]+(:[^}]*)?\}|\S*(_|/|\.py)\S*", " ", text,
                  flags=re.S)
    return {word.lower() for word in re.findall(r"[A-Za-z]+", text) if len(word) >= 3}


def english_words_not_in_spanish() -> set[str]:
    """Words of the English messages that no Spanish translation uses: any of them on a Spanish
    page is English left untranslated."""
    catalog = spanish_catalog()
    english, spanish = set(), set()
    for entry in catalog:
        if entry.id:
            english |= set().union(*map(words, entry.id if isinstance(entry.id, tuple) else [entry.id]))
            spanish |= set().union(*map(words, entry.string if isinstance(entry.string, tuple) else [entry.string]))
    return english - spanish - NOT_ENGLISH


@pytest.fixture(scope="module")
def english_only_words() -> set[str]:
    return english_words_not_in_spanish()


def assert_spanish(at: AppTest, english_only: set[str], where: str) -> None:
    assert not at.exception, at.exception
    leaks = {}
    for text in shown_texts(at):
        found = words(text) & english_only
        if found:
            leaks[text[:90]] = sorted(found)
    assert not leaks, f"English on the Spanish {where}: {leaks}"


@pytest.fixture(scope="module")
def spanish_runs(tmp_path_factory, mnist):
    """Two of the page tests' runs (only those the pages' words need: a VAE's and an autoencoder's),
    and a conditional one (its explorer and Lesson say more)."""
    folder = train_page_runs(tmp_path_factory.mktemp("spanish-runs"), mnist, "vae2", "ae2")
    train_and_save(TINY.replace(epochs=1, condition="label"), mnist.subset(512), folder, "told", "conditional")
    return folder


@pytest.mark.parametrize("page", PAGES)
def test_every_page_in_spanish_shows_no_english(page, runs_dir, spanish_runs, english_only_words):
    shutil.copytree(spanish_runs, runs_dir, dirs_exist_ok=True)
    at = open_app(page, lang="es")
    assert_spanish(at, english_only_words, page)
    if page == "pages/compare.py":  # a table's headers are among the texts read (once no table's were)
        (table,) = at.get("dataframe")
        assert table_headers(table) == ["imagen de prueba", "dígito", "error cuadrático"]
        assert set(table_headers(table)) <= set(shown_texts(at))


@pytest.mark.parametrize("page", [page for page in PAGES if page != "pages/classroom.py"])
def test_every_page_without_runs_in_spanish_shows_no_english(page, runs_dir, english_only_words):
    assert_spanish(open_app(page, lang="es"), english_only_words, f"{page} without runs")


@pytest.mark.parametrize("role", ["student", "teacher"])
def test_classroom_pages_in_spanish_show_no_english(role, class_mode, english_only_words):  # noqa: F811
    at = open_app("pages/classroom.py", lang="es", key="ada-secret-key-0123456789")
    if role == "teacher":
        sign_in(at)
    else:
        at.text_input(key="student_name_input").input("Ada").run()
    for page in PAGES:
        at.switch_page(page).run()
        assert_spanish(at, english_only_words, f"{page} as the {role}")
