"""RequestCorpus, the indexed recurring() the triage card asks: the same answers as comparing with every request."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.matching import load_recurring
from bot.domain import matching
from datetime import datetime, timedelta, timezone

from bot.domain.incidents import MIN_TERMS, OpenRequest, error_signatures, scored
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


def exhaustive_scored(text: str, roots: list[OpenRequest]) -> list[tuple[float, OpenRequest]]:
    """incidents.scored() as defined: every root compared word by word, an error signature in common 100."""
    mine = error_signatures(text)
    tokens = terms(text)
    others = [(r, terms(r.text)) for r in roots]
    weights = matching._rarity([tokens, *(t for _, t in others)]) if tokens else {}
    result = []
    for root, their in others:
        if mine and mine & error_signatures(root.text):
            result.append((100.0, root))
        elif len(set(tokens)) >= MIN_TERMS and len(set(their)) >= MIN_TERMS:
            result.append((matching._similarity(tokens, their, weights), root))
    return sorted(result, key=lambda pair: (-pair[0], pair[1].received_at))


AT = datetime(2026, 12, 2, 16, 0, tzinfo=timezone.utc)


def same(a: list[tuple[float, OpenRequest]], b: list[tuple[float, OpenRequest]]) -> bool:
    return [r.id for _, r in a] == [r.id for _, r in b] and all(abs(x - y) < 1e-9 for (x, _), (y, _) in zip(a, b))


def test_incident_scores_on_both_labelled_sets_are_those_of_comparing_with_every_open_request():
    roots = [OpenRequest(f"r{i}", text, AT - timedelta(seconds=i)) for i, text in enumerate(POOL)]
    for i, text in enumerate(POOL):
        others = roots[:i] + roots[i + 1:]
        assert same(scored(text, others), exhaustive_scored(text, others)), text


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(POOL), max_size=25), st.sampled_from(POOL))
def test_incident_scores_for_any_open_requests_are_those_of_comparing_with_every_one(texts, text):
    roots = [OpenRequest(f"r{i}", other, AT - timedelta(seconds=i)) for i, other in enumerate(texts)]
    assert same(scored(text, roots), exhaustive_scored(text, roots))


def test_a_replaced_vocabulary_is_freed_at_once_and_remembers_a_bounded_number_of_words():
    import gc
    import weakref

    from bot.domain import matching

    gc.disable()  # freed by reference counting alone, not by the cycle collector
    try:
        vocabulary = matching._Vocabulary(["tourexport", "hamburg", "scanner", "lieferadresse"])
        assert vocabulary.close("tourexprt")[0][0] == "tourexport"
        gone = weakref.ref(vocabulary)
        del vocabulary
        assert gone() is None
    finally:
        gc.enable()
    vocabulary = matching._Vocabulary(["tourexport"])
    for i in range(matching.CLOSE_CACHE + 50):
        vocabulary.close(f"wort{i}")
    assert len(vocabulary._found) == matching.CLOSE_CACHE
    assert vocabulary.close("tourexport") == (("tourexport", 1.0),)
