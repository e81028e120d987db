"""The handbook's Markdown: parsing with line-numbered problems, rendering, and entries from the card's form."""

from datetime import datetime, timezone

import pytest

from bot.domain.handbook import Entry, HandbookError, Link, new_entry, parse_handbook, render_handbook, slug


VALID = """# Backend support handbook

## Tour kann nicht optimiert werden
Keywords: tour optimization, Tour optimieren, route
Links:
- https://wiki.liefery.example/tours/optimize
- [Admin: tours](https://admin.liefery.example/tours)

Restart the optimization job for the hub.

- step one: open the tour
- step two: press *Optimize*

## Courier app login fails
Keywords: login, courier app, Anmeldung
Reset the courier's password in the admin panel.
"""

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)


def test_sections_become_entries_with_keywords_links_and_solution():
    tour, login = parse_handbook(VALID)
    assert tour.id == "tour-kann-nicht-optimiert-werden"
    assert tour.keywords == ("tour optimization", "Tour optimieren", "route")
    assert tour.links == (Link("https://wiki.liefery.example/tours/optimize"), Link("https://admin.liefery.example/tours", "Admin: tours"))
    assert tour.solution.startswith("Restart the optimization job") and tour.solution.endswith("press *Optimize*")
    assert login.keywords == ("login", "courier app", "Anmeldung")
    assert login.solution == "Reset the courier's password in the admin panel."


def test_render_reads_back_to_the_same_entries_and_the_same_text():
    entries = parse_handbook(VALID)
    used = [entries[0].used().used(), entries[1]]
    text = render_handbook(used)
    again = parse_handbook(text)
    assert [e.same_text(o) for e, o in zip(sorted(used, key=lambda e: e.title), sorted(again, key=lambda e: e.title))] == [True, True]
    assert render_handbook(again) == render_handbook([e for e in again])
    assert "uses=2" in text  # the count travels to the wiki, for the team to see


def test_a_renamed_title_keeps_its_id_from_the_comment():
    text = render_handbook(parse_handbook(VALID)).replace("## Courier app login fails", "## Courier-App: Login klappt nicht")
    renamed = {e.title: e for e in parse_handbook(text)}["Courier-App: Login klappt nicht"]
    assert renamed.id == "courier-app-login-fails"


def test_every_problem_is_reported_with_its_line():
    text = "\n".join([
        "intro text",                     # 1
        "## ",                            # 2
        "## Order stuck",                 # 3
        "### Details",                    # 4
        "Links: not-a-link",              # 5
        "## Order stuck",                 # 6
        "Solution here.",                 # 7
        "<!-- handbook: added_at=yesterday -->",  # 8
    ])
    with pytest.raises(HandbookError) as err:
        parse_handbook(text)
    problems = err.value.problems
    assert problems[0] == "line 1: text before the first `## ` section"
    assert any(p.startswith("line 2: an entry needs a title") for p in problems)
    assert "line 3: entry 'Order stuck' has no solution text" in problems
    assert any(p.startswith("line 4: only `## ` headings") for p in problems)
    assert any(p.startswith("line 5: not a link: 'not-a-link'") for p in problems)
    assert "line 6: 'Order stuck' is the same entry as line 3; titles must differ" in problems
    assert "line 6: added_at 'yesterday' is not an ISO date" in problems
    assert [int(p.split(":")[0][5:]) for p in problems] == sorted(int(p.split(":")[0][5:]) for p in problems)


def test_slugs_fold_umlauts_and_punctuation():
    assert slug("Lieferadresse ändern (nach Versand)!") == "lieferadresse-aendern-nach-versand"
    assert slug("Straße") == "strasse"
    assert slug("🚚") == "entry"


def test_new_entry_from_the_form_is_checked():
    entry = new_entry("  Label   printing fails ", "label, Etikett, label", "Restart the printer spooler.", "https://wiki.example/labels", "Ben", NOW)
    assert entry == Entry("label-printing-fails", "Label printing fails", ("label", "Etikett"), "Restart the printer spooler.",
                          (Link("https://wiki.example/labels"),), "Ben", NOW)
    with pytest.raises(HandbookError) as err:
        new_entry("", "", "  ", "ftp://nope", "Ben", NOW)
    assert err.value.problems == ["A title is needed.", "A solution is needed.", "Not a link: ftp://nope"]


def test_the_answer_carries_the_links():
    tour = parse_handbook(VALID)[0]
    assert tour.answer().endswith("- https://wiki.liefery.example/tours/optimize\n- [Admin: tours](https://admin.liefery.example/tours)")


def test_learned_keywords_skip_repeats_in_any_case():
    entry = parse_handbook(VALID)[1]
    taught = entry.learned(("Passwort", "LOGIN", "passwort", "abgelehnt"))
    assert taught.keywords == ("login", "courier app", "Anmeldung", "Passwort", "abgelehnt")
    assert taught.revision == entry.revision + 1
    assert entry.learned(("Login",)) is entry
