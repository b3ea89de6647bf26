"""The two prefix settings: unset entry prefix = the query prefix; control characters refused with the
variable named; NFD stored as NFC, like the texts the prefix goes before."""

import unicodedata

import pytest

from faqsearch.settings import Settings, SettingsError, get_settings


@pytest.fixture()
def fresh_settings(monkeypatch):
    for name in ("FAQSEARCH_MODEL_PREFIX", "FAQSEARCH_ENTRY_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_unset_prefixes_reach_the_encoder_as_none(fresh_settings):
    options = get_settings().encoder_options()
    assert (options["prefix"], options["entry_prefix"]) == (None, None)


def test_the_entry_prefix_is_read_apart_from_the_query_prefix(fresh_settings):
    fresh_settings.setenv("FAQSEARCH_MODEL_PREFIX", "query: ")
    fresh_settings.setenv("FAQSEARCH_ENTRY_PREFIX", "passage: ")
    options = get_settings().encoder_options()
    assert (options["prefix"], options["entry_prefix"]) == ("query: ", "passage: ")


def test_an_empty_entry_prefix_means_none_not_unset(fresh_settings):
    fresh_settings.setenv("FAQSEARCH_ENTRY_PREFIX", "")
    assert get_settings().entry_prefix == ""


@pytest.mark.parametrize(
    ("variable", "value", "code"),
    [
        ("FAQSEARCH_ENTRY_PREFIX", "passage:\n", "U+000A"),
        ("FAQSEARCH_ENTRY_PREFIX", "passage:\t", "U+0009"),
        ("FAQSEARCH_MODEL_PREFIX", "\ufeffquery: ", "U+FEFF"),
    ],
)
def test_control_and_invisible_characters_are_refused_naming_the_variable(
    fresh_settings, variable, value, code
):
    fresh_settings.setenv(variable, value)
    with pytest.raises(SettingsError) as info:
        get_settings()
    assert str(info.value) == (
        f"invalid setting: {variable}: the prefix {value!r} holds control or invisible characters ({code}); "
        "give plain text such as 'passage: ', or an empty value for no prefix"
    )


def test_a_prefix_in_nfd_is_stored_in_nfc_spaces_kept():
    nfd = unicodedata.normalize("NFD", "문서: ")
    assert nfd != "문서: "
    assert Settings(entry_prefix=nfd).entry_prefix == "문서: "
    assert Settings(model_prefix="  query:  ").model_prefix == "  query:  "
