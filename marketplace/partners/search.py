"""Full-text search of the partner directory: the weighted document stored on each partner and the
query built from what a visitor types (ADR 0013).

The document uses PostgreSQL's `simple` configuration (lower-cased words, no stemming, no stop
words): profiles mix Russian and English in one text and carry no language tag, so a per-language
stemmer would mangle the other language's words; prefix matching (`implem:*`) covers most endings.
Services and industries are stored as codes: their labels in every site language are indexed too, so
"обучение" finds partners offering training.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import Value
from django.utils import translation

from crm_apps.engine.services import fold_accents

if TYPE_CHECKING:
    from marketplace.partners.models import Partner

# Fields whose change alters the document (a save limited to other fields keeps the stored vector).
SEARCHED_FIELDS = frozenset({"name", "services", "industries", "certifications", "description"})
MAX_WORDS = 8
MIN_FUZZY_LENGTH = 3
FUZZY_THRESHOLD = 0.4  # pg_trgm (word) similarity of the typed text and a partner's name
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)  # letters and digits


def _labels(values: list[str], choices: Any) -> list[str]:
    """Each code with its label in every site language."""
    named = dict(choices)
    words = list(values)
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            words += [str(named[v]) for v in values if v in named]
    return words


def _text(*parts: str) -> str:
    text = " ".join(p for p in parts if p).lower()
    folded = fold_accents(text)
    return text if folded == text else f"{text} {folded}"  # "García" found by "garcia" too


def partner_search_vector(partner: Partner) -> SearchVector:
    """The weighted document: name (A), services / industries / certifications (B), description (C)."""
    from marketplace.partners.models import PartnerIndustry, PartnerService

    facets = [
        *_labels(list(partner.services or []), PartnerService.choices),
        *_labels(list(partner.industries or []), PartnerIndustry.choices),
        *(partner.certifications or []),
    ]
    vector: SearchVector = SearchVector(Value(_text(partner.name)), weight="A", config="simple")
    vector = vector + SearchVector(Value(_text(*facets)), weight="B", config="simple")  # type: ignore[assignment]
    return vector + SearchVector(Value(_text(partner.description)), weight="C", config="simple")  # type: ignore[return-value]


def directory_query(text: str) -> SearchQuery | None:
    """Every word must start a word of the document (`implem` finds "implementation"); None when the
    text has no word at all (only punctuation or markup characters)."""
    words = _WORD_RE.findall(fold_accents((text or "").lower()))[:MAX_WORDS]
    terms = " & ".join(f"{w}:*" for w in words)
    if not terms:
        return None
    # Only letters and digits reach the raw query: no tsquery operator can be injected.
    return SearchQuery(terms, search_type="raw", config="simple")
