"""Command routing: words, natural variants, scopes and weekday names."""

import pytest

import bot.bootstrap  # noqa: F401 - registers the commands
from bot.commands.router import CommandRouter, Scope, router
from bot.domain.members import parse_weekday


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

    @local.command("away", summary="absences")
    async def away(request):
        return []

    command, args = local.match("away  Friday 24.12.", Scope.PERSONAL)
    assert command.name == "away" and args == "Friday 24.12."


def test_scoped_commands_stay_in_their_scope():
    local = CommandRouter()

    @local.command("secret", summary="x", scopes=frozenset({Scope.PERSONAL}))
    async def secret(request):
        return []

    assert local.match("secret", Scope.PERSONAL) is not None
    assert local.match("secret", Scope.CHANNEL) is None
    assert [c.name for c in local.commands(Scope.CHANNEL)] == []


def test_a_command_word_cannot_be_registered_twice():
    local = CommandRouter()
    local.command("x", summary="x")(lambda r: None)
    with pytest.raises(ValueError):
        local.command("x", summary="y")(lambda r: None)


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
