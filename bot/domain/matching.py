"""Matching a request to handbook entries and to earlier requests: fuzzy, German or English, silent when unsure.

rapidfuzz compares the words (typos, umlauts written three ways, parts of German compounds); plain Python
only weighs and adds up what it found, BM25-style, so that rare words such as "webhook" count more than
common ones such as "merchant".
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Prefix

from .handbook import Entry

THRESHOLD = 36.0
"""Entries scoring below this are not shown: no suggestion beats a wrong one."""
RELATIVE = 0.8
"""An entry is shown only if it scores at least this share of the best entry's score."""
SIMILAR = 22.0
"""Two requests scoring at least this are taken as the same problem (in recurring(), words weigh by rarity)."""

MAX_CHARS = 4000  # a longer message is a pasted log; its beginning says what it is about
MAX_TOKENS = 200
SOLUTION_CHARS = 300  # the first part of a solution names the problem; the rest is steps
FIELD_WEIGHTS = {"keywords": 3.0, "title": 2.0, "solution": 1.0}
K1 = 1.2  # BM25 term-frequency saturation
RATIO_CUTOFF = 85.0  # fuzz.ratio for a typo: "Lieferadrese"/"lieferadresse", "hangt"/"haengt"; not "report"/"export"
MIN_FUZZY = 4  # shorter words only match exactly: "app" must not find "api"
MIN_STEM, STEM_SHARE, MAX_SUFFIX = 5, 0.75, 4  # one stem, other endings: "deliveries"/"delivered", "geocoder"/"geocoding"
STEM_WEIGHT = 0.8
COMPOUND_CUTOFF = 90.0  # fuzz.partial_ratio for a part of a German compound: "adresse" in "lieferadresse"
COMPOUND_WEIGHT = 0.7  # a compound part says less than the whole word
MIN_PART = 5  # "tell" is not a part of "bestellt"
CANDIDATES = 16  # close words rapidfuzz returns per query word and scorer
CLOSE_CACHE = 4096  # query words whose close words a vocabulary remembers
SATURATION = 2.2  # evidence at which an entry scores 50 before coverage: a rare keyword and a bit more
MAX_WORD = 40  # longer "words" are ids, hashes or base64
MIN_CORPUS = 20  # recurring(): fewer earlier requests count as this many when weighing words by rarity

_MENTION = re.compile(r"<at\b[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
_PLAIN_MENTION = re.compile(r"@[\w.-]+(?:\s+bot\b)?", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,500}>")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_WRITTEN_WORD = re.compile(r"[^\W_]+")
_FOLD = (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"))
_NON_WORD = bytes(c if chr(c).isascii() and chr(c).isalnum() else 32 for c in range(256))  # a-z, 0-9 stay

STOP_WORDS = frozenset("""
    a about after again all already also am an and any anyone anymore are aren as at be been before being but by
    can cannot cant could did didn do does doesn don for from get gets getting got had has have haven he hello
    help her here hey hi his how i if in into is isn it its just let lol me my no not now of ok okay on one or
    our out please pls plz same she should since so some someone still than thank thanks that the their them then
    there these they this those to today too up us very was wasn we were what when where which who why will with
    won would yes yesterday you your asap urgent several multiple many lots re ve ll
    ab aber abend alle allem allen aller alles also am an auch auf aus bei beim bin bis bitte bzw da dann das dass
    dem den denn der des die dies diese diesem diesen dieser dieses doch dort du durch ein eine einem einen einer
    eines einfach er es etwa euch euer fuer gibt geht gestern hallo hat hatte hatten haben heute hier ich ihm ihn
    ihr ihre im immer in ist ja jemand jetzt kann kein keine keinem keinen keiner koennen konnte leute mal man mehr
    mein meine mich mir mit moin morgen muss nach nein nicht noch nur ob oder ohne schon sehr sei seit sich sie
    sind so soll sollen team ueber um und uns unser unter vom von vor war waren was weil wenn wer werden wie wieder
    wir wird wo wurde wurden zu zum zur danke dringend servus usw etc mehrere mehreren viele
""".split())


# The everyday nouns of the trade, said in either language, as one English word each: so that "Händler" and
# "merchant" count as the same (common, so light) word, and a German request meets an English one.
_SAME = {
    "merchant": "haendler haendlern haendlers merchants",
    "customer": "kunde kunden kundin customers",
    "courier": "kurier kuriere kurieren fahrer fahrerin fahrern fahrers couriers driver drivers",
    "shipment": "sendung sendungen shipments paket pakete paketen parcel parcels",
    "order": "auftrag auftraege auftrags bestellung bestellungen orders",
    "delivery": "lieferung lieferungen zustellung zustellungen deliveries",
    "recipient": "empfaenger empfaengerin empfaengern recipients",
    "pickup": "abholung abholungen pickups",
    "address": "adresse adressen addresses anschrift",
    "invoice": "rechnung rechnungen invoices",
    "tour": "touren tours",
    "label": "etikett etiketten labels",
}
CANONICAL = {word: canonical for canonical, words in _SAME.items() for word in words.split()}
# "geändert" is "ändert", "abgeholt" is "abholt": then the stem meets "ändern" and "Abholung".
_PARTICIPLE = re.compile(r"^(ab|an|auf|aus|ein|mit|nach|um|vor|weg|zu|zurueck)?ge([a-z]{3,}?)(e?t)$")


@dataclass(frozen=True)
class Suggestion:
    """A handbook entry that may answer a request, with a score from 0 to 100."""

    entry_id: str
    title: str
    score: float


def normalize(text: str) -> list[str]:
    """The words that carry meaning: lower case, umlauts folded, no mentions, markup, links or stop words."""
    text = _clean(text).lower()
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).lower()
        for umlaut, folded in _FOLD:
            text = text.replace(umlaut, folded)
        text = unicodedata.normalize("NFKD", text)  # "é" becomes "e" and an accent, which the next line drops
    words = text.encode("ascii", "ignore").translate(_NON_WORD).decode().split()
    # Three-digit numbers stay: an HTTP status ("401", "502"); longer ones are order numbers, shorter ones times.
    return [w for w in words if w not in STOP_WORDS and 2 <= len(w) <= MAX_WORD and (len(w) == 3 or not w.isdigit())
            ][:MAX_TOKENS]


def keywords(text: str, limit: int = 8) -> list[str]:
    """A request's own words worth keeping as keywords of a new entry, as written: no stop words, numbers or repeats."""
    found: dict[str, str] = {}
    for word in _WRITTEN_WORD.findall(_clean(text)):
        folded = normalize(word)
        if len(folded) == 1 and not folded[0].isdigit():
            found.setdefault(folded[0], word)
            if len(found) >= limit:
                break
    return list(found.values())


def _clean(text: str) -> str:
    # Mentions, markup, e-mail addresses and links say nothing about the problem; a long text is cut first.
    text = (text or "")[:MAX_CHARS]
    if "<" in text or "@" in text or "&" in text:
        text = html.unescape(_TAG.sub(" ", _MENTION.sub(" ", text)))
        text = _PLAIN_MENTION.sub(" ", _EMAIL.sub(" ", text))
    if "://" in text or "www." in text:
        text = _URL.sub(" ", text)
    return text


def terms(text: str) -> list[str]:
    """normalize()'s words as matched: the trade's everyday nouns in English, German participles as present tense."""
    return [CANONICAL.get(token) or _present(token) for token in normalize(text)]


@lru_cache(maxsize=512)
def _words(text: str) -> frozenset[str]:
    # The same open requests are compared with every new one in a rush: their words are worked out once. A rush
    # has dozens open, not hundreds; each entry keeps a whole text.
    return frozenset(terms(text))


def _present(token: str) -> str:
    if token[-1] != "t" or "ge" not in token[:9]:
        return token  # the cheap test first: most words are no participles
    return _PARTICIPLE.sub(r"\1\2\3", token)


# Pairs of words: a vocabulary rebuilt (a word came or went) asks them again. Bounded so that a long rush of new
# words does not keep adding to the bot's memory (an entry costs about 300 bytes: 16,384 are some 5 MB).
@lru_cache(maxsize=16384)
def _token_similarity(a: str, b: str) -> float:
    """How alike two words are, 0 to 1: equal, a typo apart, the same stem, or one a part of the other's compound."""
    if a == b:
        return 1.0
    short, long = sorted((a, b), key=len)
    if len(short) < MIN_FUZZY:
        return 0.0
    best = fuzz.ratio(a, b, score_cutoff=RATIO_CUTOFF) / 100
    if len(long) - len(short) <= MAX_SUFFIX:
        stem = Prefix.similarity(short, long)
        if stem >= MIN_STEM and stem >= STEM_SHARE * len(short):
            best = max(best, STEM_WEIGHT)
    elif len(short) >= MIN_PART:
        best = max(best, _compound_part(short, long))
    return best


def _compound_part(short: str, long: str) -> float:
    """A score when `short` is the head or the tail of the compound `long`: "liefer|adresse", "hand|scanner"."""
    aligned = fuzz.partial_ratio_alignment(short, long, score_cutoff=COMPOUND_CUTOFF)
    if aligned is None:
        return 0.0
    at_edge = aligned.dest_start <= 0 or aligned.dest_end >= len(long) - 1  # -1 lets a linking "s" pass
    return aligned.score / 100 * COMPOUND_WEIGHT if at_edge else 0.0


class _Vocabulary:
    """Words of a corpus, with rapidfuzz finding the ones close to a query word."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = sorted(set(words))
        self._known = frozenset(self.words)
        self._long = [w for w in self.words if len(w) >= MIN_FUZZY]
        # A dict, not lru_cache on a bound method: that would be a reference cycle, and every vocabulary replaced
        # (one per new word) would wait for the cycle collector instead of going at once.
        self._found: dict[str, tuple[tuple[str, float], ...]] = {}

    def close(self, token: str) -> tuple[tuple[str, float], ...]:
        """The vocabulary's words close to `token`, with their similarity, best first."""
        found = self._found.get(token)
        if found is None:
            if len(self._found) >= CLOSE_CACHE:
                del self._found[next(iter(self._found))]  # the oldest
            found = self._found[token] = self._close(token)
        return found

    def _close(self, token: str) -> tuple[tuple[str, float], ...]:
        found = {token: 1.0} if token in self._known else {}
        if len(token) >= MIN_FUZZY:
            candidates = set()
            for scorer, cutoff in ((fuzz.ratio, RATIO_CUTOFF), (Prefix.similarity, MIN_STEM),
                                   (fuzz.partial_ratio, COMPOUND_CUTOFF)):
                candidates.update(w for w, _, _ in process.extract(token, self._long, scorer=scorer,
                                                                   score_cutoff=cutoff, limit=CANDIDATES))
            for word in candidates - found.keys():
                similarity = _token_similarity(token, word)
                if similarity:
                    found[word] = similarity
        return tuple(sorted(found.items(), key=lambda item: (-item[1], item[0])))


def _idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


class HandbookIndex:
    """The handbook prepared for matching: built once, asked for each new request."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self._entries = list(entries)
        self._postings: dict[str, dict[int, float]] = {}
        for i, entry in enumerate(self._entries):
            tf: dict[str, float] = {}
            for field, text in _fields(entry).items():
                for token, count in Counter(terms(text)).items():
                    tf[token] = tf.get(token, 0.0) + count * FIELD_WEIGHTS[field]
            for token, weight in tf.items():
                self._postings.setdefault(token, {})[i] = weight * (K1 + 1) / (weight + K1)
        n = len(self._entries)
        # idf over the idf of a word in one entry: 1 for the rarest words, whatever the handbook's size
        self._idf = {token: _idf(len(docs), n) / _idf(1, n) for token, docs in self._postings.items()}
        self._vocabulary = _Vocabulary(self._postings)
        self._unknown = 1.0  # a word the handbook lacks weighs like its rarest ones

    def suggest(self, text: str, limit: int = 3) -> list[Suggestion]:
        """Up to `limit` entries that may answer `text`, best first; none when no entry is a good match."""
        scores = self.scores(text)
        if not scores:
            return []
        best = max(scores.values())
        ranked = sorted(scores.items(), key=lambda item: (-item[1], self._entries[item[0]].title))
        return [
            Suggestion(self._entries[i].id, self._entries[i].title, round(score, 1))
            for i, score in ranked[:limit]
            if score >= THRESHOLD and score >= best * RELATIVE
        ]

    def scores(self, text: str) -> dict[int, float]:
        """Every entry's score for `text` (0 to 100) by entry position; entries with no matching word are left out."""
        return {i: _combine(raw, coverage) for i, (raw, coverage) in self.evidence(text).items()}

    def evidence(self, text: str) -> dict[int, tuple[float, float]]:
        """Per entry: the weighted sum of matched words, and the share of the request's weight it explains."""
        tokens = self._distinct(terms(text))
        if not tokens or not self._entries:
            return {}
        matched: dict[int, dict[str, tuple[float, float]]] = {}
        total = 0.0
        for token in tokens:
            close = self._vocabulary.close(token)
            weight = max((similarity * self._idf[word] for word, similarity in close), default=self._unknown)
            total += weight
            for word, similarity in close:
                for i, saturated in self._postings[word].items():
                    found = matched.setdefault(i, {})
                    score, share = found.get(token, (0.0, 0.0))
                    found[token] = (max(score, similarity * self._idf[word] * saturated), max(share, similarity * weight))
        return {
            i: (sum(score for score, _ in found.values()), sum(share for _, share in found.values()) / total)
            for i, found in matched.items()
        }

    def _distinct(self, tokens: list[str]) -> list[str]:
        # "drucker ... druckt" or "webhook ... webhooks" in one request is one word said twice.
        kept: list[str] = []
        for token in dict.fromkeys(tokens):
            if not any(_token_similarity(token, other) >= STEM_WEIGHT for other in kept):
                kept.append(token)
        return kept


def _fields(entry: Entry) -> dict[str, str]:
    return {"keywords": ", ".join(entry.keywords), "title": entry.title, "solution": entry.solution[:SOLUTION_CHARS]}


def _combine(raw: float, coverage: float) -> float:
    # Enough evidence, discounted by up to half when most of the request's words are about something else.
    return 100 * raw / (raw + SATURATION) * (1 + coverage) / 2


def similar(a: str, b: str) -> float:
    """How alike two requests are, 0 to 100: the share of their words that the other one has too."""
    return _similarity(terms(a), terms(b), {})


def recurring(text: str, earlier: Sequence[tuple[str, str]], threshold: float = SIMILAR) -> list[str]:
    """The ids of earlier (id, text) requests about the same problem as `text`, words weighted by their rarity."""
    return RequestCorpus(earlier).like(text, threshold)


class RequestCorpus:
    """Earlier requests prepared for recurring(), kept up to date as requests come and go.

    A new text is compared only with the requests that share one of its words or a close one (rapidfuzz finds
    those in the corpus' vocabulary), so asking costs what the matches cost, not the size of the month behind
    them: the score is the weighted Dice coefficient of _similarity(), and a request without a close word scores 0.
    """

    def __init__(self, requests: Iterable[tuple[str, str]] = ()) -> None:
        self._terms: dict[str, frozenset[str]] = {}
        self._postings: dict[str, set[str]] = {}
        self._vocabulary: _Vocabulary | None = None
        self._gone = 0  # words no request has any more, still in the vocabulary
        for request_id, text in requests:
            self.add(request_id, text)

    def __len__(self) -> int:
        return len(self._terms)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._terms

    def add(self, request_id: str, text: str) -> None:
        """Take a request in (again: its text may have changed)."""
        self.remove(request_id)
        words = _words(text)
        self._terms[request_id] = words
        for word in words:
            ids = self._postings.get(word)
            if ids is None:
                self._postings[word] = {request_id}
                self._vocabulary = None  # a new word may be close to a word asked for before
            else:
                ids.add(request_id)

    def remove(self, request_id: str) -> None:
        """Forget a request (it left the window); unknown ids are ignored."""
        for word in self._terms.pop(request_id, ()):
            ids = self._postings[word]
            ids.discard(request_id)
            if not ids:
                del self._postings[word]
                self._gone += 1
        if self._gone > len(self._postings):  # rebuilt now and then, so the vocabulary does not grow with time
            self._vocabulary, self._gone = None, 0

    def like(self, text: str, threshold: float = SIMILAR, exclude: Iterable[str] = ()) -> list[str]:
        """The ids of the requests (but `exclude`) about the same problem as `text`, in the order they came in."""
        return [request_id for request_id, score in self.scores(text, exclude).items() if score >= threshold]

    def terms_of(self, request_id: str) -> frozenset[str]:
        """A request's distinct words as matched."""
        return self._terms[request_id]

    def scores(self, text: str, exclude: Iterable[str] = ()) -> dict[str, float]:
        """How alike `text` is to each request (but `exclude`) that shares a close word with it, 0 to 100, in the
        order they came in; the others score 0."""
        tokens = list(dict.fromkeys(terms(text)))
        if not tokens or not self._terms:
            return {}
        left_out = {request_id for request_id in exclude if request_id in self._terms}
        asked = set(tokens)
        n = max(len(self._terms) - len(left_out) + 1, MIN_CORPUS)
        one = _idf(1, n)
        weights: dict[str, float] = {}

        def weight(word: str) -> float:
            # idf over the corpus without the left-out requests, the new text counted in (as _rarity does)
            if word not in weights:
                ids = self._postings.get(word, ())
                df = len(ids) - sum(1 for i in left_out if i in ids) + (word in asked)
                weights[word] = _idf(df, n) / one
            return weights[word]

        if self._vocabulary is None:
            self._vocabulary = _Vocabulary(self._postings)
        close = {token: self._vocabulary.close(token) for token in tokens}
        nearest: dict[str, float] = {}  # a corpus word's best similarity to any word of the text
        candidates: set[str] = set()
        for found in close.values():
            for word, similarity in found:
                if similarity > nearest.get(word, 0.0):
                    nearest[word] = similarity
                candidates.update(self._postings.get(word, ()))
        candidates -= left_out
        total_a = sum(weight(token) for token in tokens)
        found = {}
        for request_id, words in self._terms.items():  # in the order they came in
            if request_id not in candidates:
                continue
            got_a = sum(weight(token) * max((s for w, s in close[token] if w in words), default=0.0) for token in tokens)
            got_b = total_b = 0.0
            for word in words:
                w = weight(word)
                total_b += w
                got_b += w * nearest.get(word, 0.0)
            found[request_id] = 100 * (got_a + got_b) / (total_a + total_b)
        return found


def _rarity(documents: Sequence[Sequence[str]]) -> dict[str, float]:
    # idf over the idf of a word in one request; a small corpus counts as MIN_CORPUS requests, or the words two
    # requests share would weigh nothing just because there are only two.
    df: dict[str, int] = {}
    for tokens in documents:
        for token in set(tokens):
            df[token] = df.get(token, 0) + 1
    n = max(len(documents), MIN_CORPUS)
    return {token: _idf(count, n) / _idf(1, n) for token, count in df.items()}


def _similarity(a: Sequence[str], b: Sequence[str], weights: Mapping[str, float]) -> float:
    a, b = list(dict.fromkeys(a)), list(dict.fromkeys(b))
    if not a or not b:
        return 0.0

    def covered(source: list[str], target: list[str]) -> tuple[float, float]:
        got = total = 0.0
        for token in source:
            weight = weights.get(token, 1.0)
            total += weight
            got += weight * max(_token_similarity(token, other) for other in target)
        return got, total

    # A weighted Dice coefficient: what each request finds of its words in the other, over both requests' words.
    got_a, total_a = covered(a, b)
    got_b, total_b = covered(b, a)
    return 100 * (got_a + got_b) / (total_a + total_b) if total_a + total_b else 0.0
