"""TKT-06 search: the tokeniser that lets PostgreSQL's full-text search read Japanese."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from helpdesk.tickets.search import document, query, tokens


def test_tkt06_latin_words_and_cjk_bigrams():
    assert tokens("Printer ON fire!") == ["printer", "on", "fire"]
    assert tokens("請求書が届く") == ["請求", "求書", "書が", "が届", "届く"]
    assert tokens("ＡＢＣ１２３") == ["abc123"]  # full-width folded by NFKC
    assert tokens("山") == ["山"]


def test_tkt06_query_requires_every_token_and_is_safe():
    assert query("") is None
    assert query("!!!") is None
    assert query("請求書")._constructor_args[0][0] == "'請求' & '求書'"
    assert query("山")._constructor_args[0][0] == "'山':*"  # a lone kanji as a prefix


@given(st.text(max_size=200))
def test_tkt06_any_text_tokenises_to_letters_and_digits(text):
    for token in tokens(text):
        assert token and "'" not in token and " " not in token and "\\" not in token
    assert isinstance(document(text), str)
