"""Full-text search that works for Japanese as well as English, on PostgreSQL's own FTS.

PostgreSQL's parsers split words on spaces, which Japanese does not use. We tokenise in Python:
Latin words as they are (lower-cased), and runs of CJK characters as overlapping bigrams (the
approach of pg_bigm). The tokens go into a `simple` tsvector; a query is tokenised the same way
and all its tokens must match."""

from __future__ import annotations

import re
import unicodedata

from django.contrib.postgres.search import SearchQuery

_CJK = (
    r"\u3040-\u30ff"  # hiragana, katakana
    r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    r"\uff66-\uff9f"  # half-width katakana
    r"\uac00-\ud7af"  # hangul
)
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_]+", re.UNICODE)
_CJK_RUN = re.compile(rf"^[{_CJK}]+$")
MAX_DOCUMENT = 200_000  # characters indexed per ticket


def tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text or "")[:MAX_DOCUMENT].lower()
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        word = match.group(0)
        if _CJK_RUN.match(word):
            out.extend(word if len(word) == 1 else (word[i : i + 2] for i in range(len(word) - 1)))
        else:
            out.append(word)
    return out


def document(*parts: str) -> str:
    """The text to index (space-separated tokens), for to_tsvector('simple', ...)."""
    return " ".join(tokens(" ".join(p for p in parts if p)))


def query(text: str) -> SearchQuery | None:
    """All tokens of `text` must match (a lone CJK character as a prefix of a bigram); None
    when there is nothing to search for. Tokens are letters and digits only, so quoting them
    in a raw tsquery is safe."""
    words = list(dict.fromkeys(tokens(text)))[:32]
    if not words:
        return None
    terms = [f"'{w}':*" if len(w) == 1 and _CJK_RUN.match(w) else f"'{w}'" for w in words]
    return SearchQuery(" & ".join(terms), config="simple", search_type="raw")
