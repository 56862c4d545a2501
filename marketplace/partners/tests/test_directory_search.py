"""Directory search: weighted full-text rank, authorised first, prefixes, Russian text, typos, filters
combined with words, stable pages, bad input and the number of queries."""

from __future__ import annotations

import pytest

from marketplace.partners.models import Partner


def names(response) -> list[str]:
    return [p.name for p in response.context["page"].object_list]


@pytest.fixture
def ranked(make_partner):
    return {
        # "onboarding" in the name (A), in services/certifications (B) and in the description (C).
        "name": make_partner(name="Onboarding Experts", description="We help teams", countries=["DE"]),
        "cert": make_partner(
            name="Northwind Partners",
            certifications=["Certified onboarding consultant"],
            description="CRM projects",
            countries=["DE"],
            languages=["de"],
        ),
        "desc": make_partner(
            name="Southwind Studio", description="Fast onboarding of sales teams", countries=["FR"], languages=["fr"]
        ),
        "authorised_desc": make_partner(
            name="Zenith Consulting",
            description="Onboarding and training",
            countries=["DE"],
            languages=["de"],
            is_authorised=True,
            listing_state="active",
        ),
        "other": make_partner(name="Unrelated Ltd", description="Accounting only", countries=["DE"]),
    }


def test_authorised_first_then_name_over_facets_over_description(public_client, ranked):
    response = public_client.get("/partners/", {"q": "onboarding"})
    assert response.status_code == 200
    assert names(response) == ["Zenith Consulting", "Onboarding Experts", "Northwind Partners", "Southwind Studio"]


def test_a_prefix_finds_whole_words_in_names_services_and_descriptions(public_client, make_partner):
    make_partner(name="Implementers United")
    make_partner(name="Service Desk Pros", services=["implementation"])
    make_partner(name="Plain Co", description="CRM implementation in a week")
    make_partner(name="Nothing Here", description="We paint houses")
    response = public_client.get("/partners/", {"q": "implem"})
    assert names(response) == ["Implementers United", "Service Desk Pros", "Plain Co"]


def test_every_word_must_match(public_client, ranked):
    assert names(public_client.get("/partners/", {"q": "onboarding sales"})) == ["Southwind Studio"]
    # No profile has both words: only the similar-names fallback answers (and says so).
    response = public_client.get("/partners/", {"q": "onboarding accounting"})
    assert response.context["fuzzy"] is True
    assert "Unrelated Ltd" not in names(response)


def test_russian_words_and_service_labels_in_russian_are_found(public_client, make_partner):
    make_partner(name="Внедрение Про", description="Настройка CRM для отдела продаж")
    make_partner(name="Teachers", services=["training"])
    make_partner(name="Other", description="Только бухгалтерия")
    assert names(public_client.get("/partners/", {"q": "ВНЕДРЕН"})) == ["Внедрение Про"]
    assert names(public_client.get("/partners/", {"q": "отдела прод"})) == ["Внедрение Про"]
    # PartnerService.TRAINING is indexed with its Russian label "Обучение" as well.
    assert names(public_client.get("/partners/", {"q": "обучен"})) == ["Teachers"]


def test_accents_do_not_matter(public_client, make_partner):
    make_partner(name="García Soluciones")
    assert names(public_client.get("/partners/", {"q": "garcia"})) == ["García Soluciones"]
    assert names(public_client.get("/partners/", {"q": "garcía"})) == ["García Soluciones"]


def test_a_typo_falls_back_to_similar_names_and_says_so(public_client, make_partner):
    make_partner(name="Consulting Brothers")
    make_partner(name="Bakery Supplies")
    response = public_client.get("/partners/", {"q": "consluting"})
    assert names(response) == ["Consulting Brothers"]
    assert "data-fuzzy" in response.content.decode()
    exact = public_client.get("/partners/", {"q": "consulting"})
    assert names(exact) == ["Consulting Brothers"]
    assert "data-fuzzy" not in exact.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "onboarding", "country": "DE"}, ["Zenith Consulting", "Onboarding Experts", "Northwind Partners"]),
        ({"q": "onboarding", "language": "fr"}, ["Southwind Studio"]),
        ({"q": "onboarding", "authorised": "on"}, ["Zenith Consulting"]),
        ({"q": "onboarding", "country": "DE", "language": "de"}, ["Zenith Consulting", "Northwind Partners"]),
        ({"q": "onboarding", "country": "US"}, []),
        ({"q": "accounting", "authorised": "on"}, []),
    ],
)
def test_filters_combine_with_search(public_client, ranked, query, expected):
    assert names(public_client.get("/partners/", query)) == expected


def test_filters_combine_with_the_typo_fallback(public_client, make_partner):
    make_partner(name="Consulting Brothers", countries=["DE"])
    make_partner(name="Consulting Sisters", countries=["FR"])
    assert names(public_client.get("/partners/", {"q": "consluting", "country": "FR"})) == ["Consulting Sisters"]


def test_pages_of_equally_ranked_partners_are_stable_and_complete(public_client, make_partner):
    for i in range(25):
        make_partner(name="Same Name", slug=f"same-{i:02d}", description="identical words")
    seen: list[int] = []
    for page in (1, 2):
        response = public_client.get("/partners/", {"q": "identical", "page": page})
        seen += [p.pk for p in response.context["page"].object_list]
    assert len(seen) == 25
    assert seen == sorted(seen)  # equal rank and name: the primary key decides


def test_a_profile_change_is_searchable_at_once_and_other_saves_keep_the_document(public_client, make_partner):
    partner = make_partner(name="Old Name", description="Consultants")
    partner.name = "Renamed Agency"
    partner.save(update_fields=["name"])
    assert names(public_client.get("/partners/", {"q": "renamed"})) == ["Renamed Agency"]
    assert names(public_client.get("/partners/", {"q": "old"})) == []
    partner.listing_state = "pending"
    partner.save(update_fields=["listing_state"])
    assert Partner.objects.filter(pk=partner.pk, search_vector__isnull=False).exists()
    assert names(public_client.get("/partners/", {"q": "renamed"})) == ["Renamed Agency"]


@pytest.mark.parametrize(
    "q",
    [
        "",
        "   ",
        "x" * 100,
        "x" * 5000,
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "a & b | !c :* (d)",
        "&|!():*<>\\",
        "___",
        "\u0000abc",
        "[url=http://x]y[/url]",
    ],
)
def test_odd_queries_give_a_page_not_an_error(public_client, ranked, q):
    response = public_client.get("/partners/", {"q": q})
    assert response.status_code == 200
    assert "<script>alert" not in response.content.decode()


def test_only_punctuation_finds_nothing_and_a_too_long_query_says_why(public_client, ranked):
    assert names(public_client.get("/partners/", {"q": "&|!():*"})) == []
    response = public_client.get("/partners/", {"q": "x" * 101})
    assert response.context["form"].errors["q"]
    assert "errorlist" in response.content.decode()


def test_markup_in_a_query_matches_its_words(public_client, make_partner):
    make_partner(name="Script Masters")
    assert names(public_client.get("/partners/", {"q": "<script>"})) == ["Script Masters"]


def test_query_counts_are_pinned(public_client, ranked, django_assert_num_queries):
    # Every request starts with django-tenants' SET search_path to `public`.
    with django_assert_num_queries(3):  # count, page
        public_client.get("/partners/")
    with django_assert_num_queries(4):  # any match?, count, page
        public_client.get("/partners/", {"q": "onboarding", "country": "DE"})
    with django_assert_num_queries(4):  # no match, count and page of similar names
        public_client.get("/partners/", {"q": "onbaording"})
