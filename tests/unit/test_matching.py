"""Handbook suggestions and recurring requests: measured on the labelled sets in tests/data, plus the edge cases."""

from __future__ import annotations

import pytest

from bench.matching import PARAPHRASED, evaluate, evaluate_recurring, load_handbook, load_labelled, load_recurring
from bot.domain import matching
from bot.domain.handbook import Entry
from bot.domain.matching import HandbookIndex, keywords, normalize, recurring, similar

ADDRESS = "change-the-delivery-address-after-dispatch"
STUCK = "order-stuck-in-a-status"
WEBHOOK = "webhook-not-delivered-to-merchant"


@pytest.fixture(scope="module")
def index() -> HandbookIndex:
    """The test handbook, indexed once for the module."""
    return HandbookIndex(load_handbook())


def top(index: HandbookIndex, text: str) -> str | None:
    """The id of the best suggestion, or None."""
    found = index.suggest(text)
    return found[0].entry_id if found else None


def test_the_test_data_is_big_enough():
    labelled = load_labelled()
    assert len(load_handbook()) >= 18
    assert len(labelled) >= 50
    assert sum(item.expected is None for item in labelled) >= 12
    ids = {entry.id for entry in load_handbook()}
    assert {item.expected for item in labelled} - {None} <= ids


def test_suggestions_on_the_labelled_requests_meet_the_targets(index):
    report = evaluate(index, load_labelled())
    figures = (f"top-3 precision {report.top3_precision}, per-suggestion precision {report.suggestion_precision}, "
               f"recall@3 {report.recall_at_3}, false-show rate {report.false_show_rate}; misses {report.misses}")
    assert report.top3_precision >= 0.8, figures
    assert report.recall_at_3 >= 0.7, figures
    assert report.false_show_rate <= 0.25, figures


def test_paraphrases_without_shared_words_are_rarely_found_but_never_wrongly():
    # A word matcher cannot see synonyms; what it shows must still be right, and unrelated text stays silent.
    report = evaluate(HandbookIndex(load_handbook()), load_labelled(PARAPHRASED))
    figures = f"top-3 precision {report.top3_precision}, recall@3 {report.recall_at_3}, false-show rate {report.false_show_rate}"
    assert report.top3_precision >= 0.8, figures
    assert report.false_show_rate <= 0.25, figures
    assert report.recall_at_3 >= 0.1, figures


def test_recurring_links_requests_of_one_problem_and_rarely_others():
    report = evaluate_recurring(load_recurring())
    figures = (f"pair precision {report.pair_precision}, pair recall {report.pair_recall}, flag precision "
               f"{report.flag_precision}, flag recall {report.flag_recall}; wrong {report.wrong_pairs}")
    assert report.pair_precision >= 0.75, figures
    assert report.flag_precision >= 0.9, figures
    assert report.pair_recall >= 0.4, figures


def test_a_typo_still_finds_the_entry(index):
    assert top(index, "Lieferadrese ändern") == ADDRESS


def test_word_order_does_not_change_the_score(index):
    assert index.suggest("Lieferadresse ändern") == index.suggest("ändern bitte die Lieferadresse")


@pytest.mark.parametrize("text", [
    pytest.param("Webhook kommt beim Händler nicht an", id="german"),
    pytest.param("webhook not delivered to the merchant", id="english"),
])
def test_german_and_english_find_the_same_entry(index, text):
    assert top(index, text) == WEBHOOK


@pytest.mark.parametrize("text", [
    pytest.param("Auftrag hängt im Status", id="umlaut"),
    pytest.param("Auftrag haengt im Status", id="ae"),
    pytest.param("Auftrag hangt im Status", id="a"),
])
def test_umlauts_written_three_ways_meet(index, text):
    assert top(index, text) == STUCK


def test_umlauts_fold_and_sharp_s_becomes_ss():
    assert normalize("hängt Größe Übergabe") == normalize("haengt groesse uebergabe") == ["haengt", "groesse", "uebergabe"]


def test_mentions_markup_links_and_stop_words_are_dropped():
    text = ('<at>Support Bot</at> <p>Hi team, das <b>Label</b> drucken geht nicht&nbsp;!!</p> '
            "https://wiki.example.com/labels @Support Bot")
    assert normalize(text) == ["label", "drucken"]


def test_order_numbers_go_and_status_codes_stay():
    assert normalize("Auftrag #A-482913 bekommt 401 seit 10:00") == ["auftrag", "bekommt", "401"]


@pytest.mark.parametrize("text", [
    pytest.param("", id="empty"),
    pytest.param("  \n\t ", id="whitespace"),
    pytest.param("🙏🔥😱", id="emoji"),
    pytest.param("<at>Support Bot</at>", id="mention-only"),
    pytest.param("x" * 100_000, id="100kB-one-word"),
    pytest.param(("lorem ipsum dolor sit amet " * 4000)[:100_000], id="100kB-words"),
])
def test_empty_or_meaningless_input_suggests_nothing(index, text):
    assert index.suggest(text) == []
    assert recurring(text, [("r1", "Staging ist down")]) == []


def test_an_index_over_no_entries_suggests_nothing():
    assert HandbookIndex([]).suggest("Lieferadresse ändern") == []


def test_suggestions_are_ranked_limited_and_above_the_threshold(index):
    for item in load_labelled():
        found = index.suggest(item.text, limit=2)
        assert len(found) <= 2
        assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
        assert all(matching.THRESHOLD <= s.score <= 100 for s in found)
        assert all(s.score >= found[0].score * matching.RELATIVE - 0.1 for s in found)  # scores are rounded


def test_a_request_about_something_else_gets_no_suggestion(index):
    assert index.suggest("Wer hat heute Rufbereitschaft?") == []


def test_a_new_entry_is_found_by_its_keywords():
    entry = Entry("grafana-dashboard-empty", "Grafana dashboard empty", ("Grafana", "Dashboard leer"),
                  "Restart the Prometheus exporter on the hub.")
    index = HandbookIndex([*load_handbook(), entry])
    assert top(index, "Grafana Dashboard für den Hub ist leer") == entry.id


def test_similar_is_symmetric_and_bounded():
    a, b = "Staging-Umgebung nicht erreichbar, 502", "staging returns 502 again"
    assert similar(a, b) == pytest.approx(similar(b, a))
    assert 0 <= similar(a, b) <= 100
    assert similar(a, a) == 100
    assert similar("", a) == 0


def test_recurring_names_the_earlier_requests_about_the_same_problem():
    earlier = [
        ("r1", "Grafana Dashboard für den Hub-Durchsatz lädt nicht"),
        ("r2", "VPN connection from home office keeps dropping"),
        ("r3", "Grafana zeigt keine Daten mehr im Hub Dashboard"),
        ("r4", "Wer hat heute Rufbereitschaft?"),
    ]
    assert recurring("the grafana hub dashboard is empty again", earlier) == ["r1", "r3"]


def test_keywords_for_a_new_entry_are_the_requests_own_words_as_written():
    text = "<at>Support Bot</at> Kunde hat falsche Lieferadresse angegeben, bitte ändern! #A-902341 https://x.example"
    assert keywords(text) == ["Kunde", "falsche", "Lieferadresse", "angegeben", "ändern"]
    assert keywords(text, limit=2) == ["Kunde", "falsche"]
    assert keywords("") == []
