"""RequestCorpus, the indexed recurring() the triage card asks: the same answers as comparing with every request."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.matching import load_recurring
from bot.domain import matching
from bot.domain.matching import SIMILAR, RequestCorpus, recurring, terms
from tests.unit.test_incidents import load_incidents


def exhaustive(text: str, earlier: list[tuple[str, str]], threshold: float = SIMILAR) -> list[str]:
    """recurring() as defined: every earlier request scored with _similarity, words weighed by rarity."""
    tokens = terms(text)
    if not tokens:
        return []
    others = [(request_id, terms(other)) for request_id, other in earlier]
    weights = matching._rarity([tokens, *(other for _, other in others)])
    return [request_id for request_id, other in others if matching._similarity(tokens, other, weights) >= threshold]


def texts_of_both_sets() -> list[str]:
    return [text for _, text, _ in load_recurring()] + [text for _, text, _ in load_incidents()]


def test_on_both_labelled_sets_the_corpus_finds_what_comparing_with_every_request_finds():
    rows = [(f"r{i}", text) for i, text in enumerate(texts_of_both_sets())]
    corpus = RequestCorpus(rows)
    compared = found = 0
    for request_id, text in rows:
        earlier = [row for row in rows if row[0] != request_id]
        expected = exhaustive(text, earlier)
        assert corpus.like(text, exclude=[request_id]) == expected, text
        compared += 1
        found += bool(expected)
    assert compared == len(rows) and found >= 20  # the sets do have recurring requests


def test_recurring_is_the_corpus():
    earlier = [("r1", "Grafana Dashboard für den Hub-Durchsatz lädt nicht"), ("r2", "VPN bricht im Homeoffice ab"),
               ("r3", "Grafana zeigt keine Daten mehr im Hub Dashboard")]
    assert recurring("the grafana hub dashboard is empty again", earlier) == ["r1", "r3"]
    assert RequestCorpus(earlier).like("the grafana hub dashboard is empty again", exclude=["r3"]) == ["r1"]


def test_a_request_that_left_is_no_longer_found_and_an_edited_one_is_found_by_its_new_text():
    corpus = RequestCorpus([("a", "Tourexport Hamburg bricht mit Timeout ab"), ("b", "Drucker im Hub Köln druckt nicht")])
    assert corpus.like("Tourexport für Hamburg: Timeout") == ["a"]
    corpus.remove("a")
    corpus.remove("a")  # twice is harmless
    assert corpus.like("Tourexport für Hamburg: Timeout") == [] and len(corpus) == 1
    corpus.add("b", "Tourexport Hamburg läuft in einen Timeout")
    assert corpus.like("Tourexport für Hamburg: Timeout") == ["b"] and "b" in corpus


def test_an_empty_corpus_or_a_text_without_words_finds_nothing():
    assert RequestCorpus().like("Tourexport Hamburg") == []
    assert RequestCorpus([("a", "Tourexport Hamburg")]).like("<at>Support Bot</at> ??? !!!") == []


POOL = texts_of_both_sets()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "remove"]), st.integers(0, 40), st.sampled_from(POOL)), max_size=40),
       st.sampled_from(POOL), st.sets(st.integers(0, 40), max_size=3))
def test_after_any_adds_and_removes_the_corpus_answers_like_comparing_with_every_request(steps, text, excluded):
    corpus, kept = RequestCorpus(), {}
    for op, n, other in steps:
        if op == "add":
            corpus.add(f"r{n}", other)
            kept.pop(f"r{n}", None)
            kept[f"r{n}"] = other
        else:
            corpus.remove(f"r{n}")
            kept.pop(f"r{n}", None)
    exclude = {f"r{n}" for n in excluded}
    earlier = [(request_id, other) for request_id, other in kept.items() if request_id not in exclude]
    assert corpus.like(text, exclude=exclude) == exhaustive(text, earlier)
