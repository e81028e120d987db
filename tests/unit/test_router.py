"""Command routing: words, natural variants, scopes and weekday names."""

import pytest

from bot.core.events import Scope
from bot.core.routing import CommandRouter
from bot.domain.members import parse_weekday
from tests.support.routers import app_routers

router = app_routers()[0]


@pytest.mark.parametrize(
    "text",
    ["who", "Who?", "who is on support?", "Wer hat Support?", "wer hat heute support", "  WHO  ", "who's on call today?"],
)
def test_natural_variants_reach_who(text):
    command, _ = router.match(text, Scope.PERSONAL)
    assert command.name == "who"


@pytest.mark.parametrize("text", ["help", "Hilfe", "?", "commands"])
def test_help_variants(text):
    assert router.match(text, Scope.PERSONAL)[0].name == "help"


@pytest.mark.parametrize("text", ["", "   ", "please make me a sandwich", "whom", "helpful"])
def test_unknown_text_matches_nothing(text):
    assert router.match(text, Scope.PERSONAL) is None


def test_arguments_keep_their_original_case():
    local = CommandRouter()

    async def away(request):
        return []

    local.add("away", away, summary="absences")

    command, args = local.match("away  Friday 24.12.", Scope.PERSONAL)
    assert command.name == "away" and args == "Friday 24.12."


def test_scoped_commands_stay_in_their_scope():
    local = CommandRouter()

    async def secret(request):
        return []

    local.add("secret", secret, summary="x", scopes=frozenset({Scope.PERSONAL}))

    assert local.match("secret", Scope.PERSONAL) is not None
    assert local.match("secret", Scope.CHANNEL) is None
    assert [c.name for c in local.commands(Scope.CHANNEL)] == []


def test_a_command_word_cannot_be_registered_twice():
    local = CommandRouter()
    local.add("x", lambda r: None, summary="x")
    with pytest.raises(ValueError):
        local.add("x", lambda r: None, summary="y")


@pytest.mark.parametrize(
    "name, day", [("mon", 0), ("Di", 1), ("Mittwoch", 2), ("thu", 3), ("Fr.", 4), ("friday", 4), ("sa", 5), ("So", 6)]
)
def test_weekday_names_in_english_and_german(name, day):
    assert parse_weekday(name) == day


@pytest.mark.parametrize("name", ["someday", "t", "", "s", "x"])
def test_unclear_weekday_names_are_refused(name):
    with pytest.raises(ValueError):
        parse_weekday(name)


def test_stats_is_a_personal_command_with_its_period_as_arguments():
    command, args = router.match("Stats 2026-11", Scope.PERSONAL)
    assert (command.name, args) == ("stats", "2026-11")
    assert router.match("stats", Scope.CHANNEL) is None


# Real requests that start with a command word: in a request channel none of them is a command.
REQUESTS_STARTING_WITH_COMMAND_WORDS = [
    "pick up address is wrong for tour 4711, driver is at the wrong depot",
    "Pick-up Adresse ist falsch bei Auftrag A-123",
    "next tour cannot be started, app says 'tour locked'",
    "Nächste Tour lässt sich nicht starten",
    "alerts are not sent to the drivers since 16:00",
    "alerts here and there are duplicated in the dashboard",
    "sync with the warehouse failed again",
    "sync roster of hub Leipzig shows old drivers",
    "who changed the delivery window? customer is angry",
    "Wer hat die Tour 12 gelöscht?",
    "who is on support? the export is broken",
    "help, the driver app crashes on login",
    "Hilfe, die App stürzt ab",
    "help me please, invoices are missing",
    "rotation of the map is broken on Android",
    "rotation here is wrong: the map turns upside down",
    "requests to the tracking API time out",
    "requests here are slow since the deploy",
    "stats page shows wrong numbers for November",
    "handbook link in the admin panel is dead",
    "me and my team can't log in",
    "away status of driver 77 is stuck",
    "history of tour 5 is empty",
    "roster import failed with a 500",
    "member can't reset her password",
    "swap of two drivers between tours failed",
    "jobs are stuck in the queue since 17:00",
    "next week's tours are missing in the planner",
]
COMMANDS_IN_A_REQUEST_CHANNEL = {
    "who": "who", "Who?": "who", "who is on support?": "who", "Wer hat Support?": "who", "wer hat heute support": "who",
    "who's on call today?": "who", "next": "next", "Nächste?": "next", "help": "help", "Hilfe!": "help", "?": "help",
    "pick": "pick", "Pick.": "pick", "alerts here": "alerts", "rotation here": "rotation", "requests here": "requests",
    "requests off": "requests", "sync roster": "sync",
}


@pytest.mark.parametrize("text", REQUESTS_STARTING_WITH_COMMAND_WORDS)
def test_in_a_request_channel_a_request_starting_with_a_command_word_is_no_command(text):
    assert router.match_whole(text, Scope.CHANNEL) is None


@pytest.mark.parametrize("text, name", COMMANDS_IN_A_REQUEST_CHANNEL.items())
def test_in_a_request_channel_a_whole_command_is_a_command(text, name):
    command, _ = router.match_whole(text, Scope.CHANNEL)
    assert command.name == name


def test_whole_commands_keep_their_arguments():
    assert router.match_whole("Requests Off", Scope.CHANNEL)[1] == "Off"
    assert router.match_whole("alerts   here", Scope.CHANNEL)[1] == "here"


@pytest.mark.parametrize("text", ["me", "stats", "jobs", "roster", "away friday", "handbook login"])
def test_personal_commands_are_no_channel_commands(text):
    assert router.match_whole(text, Scope.CHANNEL) is None
