"""Act as another Agents Playground user against `make dev` (the Playground's UI cannot switch users).

  act_as.py watch                                             # in a second terminal, first
  act_as.py say --as olga --in backend "the tour export fails"
  act_as.py click --as paula "I'm on it"
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.playground import Playground, PlaygroundError  # noqa: E402

DEFAULT_URL = "http://127.0.0.1:56150"
DEFAULT_INDEX = ROOT / "devTools" / "act_as_cards.json"
KEEP_CARDS = 200
AT = re.compile(r"<at>(.*?)</at>")


class Refused(Exception):
    """A one-line reason why a command cannot do what was asked."""


# ---------------------------------------------------------------- the Playground's people and places


def find_user(pg: Playground, key: str) -> dict[str, Any]:
    """A user by first name, full name or id (`29:user-olga` or `user-olga`), any case."""
    wanted = key.strip().casefold()
    for user in pg.users():
        if wanted in {user["givenName"].casefold(), user["name"].casefold(), user["id"].casefold(),
                      user["id"].partition(":")[2].casefold()}:
            return user
    known = ", ".join(f"{u['givenName'].lower()} ({u['name']}, {u['id']}"
                      f"{', the current user' if u['id'] == pg.current_user_id else ''})" for u in pg.users())
    raise Refused(f"no user {key!r}; the Playground's users: {known}")


def channels(pg: Playground) -> dict[str, str]:
    """The team's channels, lower-case name -> conversation id."""
    return {c["name"].casefold(): c["id"] for c in pg.channels()}


def target(pg: Playground, user: dict[str, Any], where: str, thread: str | None) -> str:
    """The conversation id for --in and --thread."""
    place = where.casefold()
    if thread and place in ("personal", "group"):
        raise Refused(f"--thread is for channels; the {place} chat has no threads")
    if place == "personal":
        if user["id"] != pg.current_user_id:
            current = pg.user(pg.current_user_id)["name"]
            raise Refused(f"the Playground has a personal chat with the bot only for the current user, {current}; "
                          f"as {user['name']} use --in {', '.join([*channels(pg), 'group'])}")
        return pg.personal_chat_id()
    if place == "group":
        return pg.group_chat_id
    if place not in channels(pg):
        raise Refused(f"no place {where!r}; use --in {', '.join([*channels(pg), 'group', 'personal'])}")
    channel = channels(pg)[place]
    return f"{channel};messageid={thread.rpartition('messageid=')[2]}" if thread else channel


def place_name(pg: Playground, conversation_id: str) -> str:
    """A conversation id as a person reads it: "#backend thread 1796…", "the group chat", "the personal chat"."""
    channel, _, root = conversation_id.partition(";messageid=")
    names = {c["id"]: f"#{c['name']}" for c in pg.channels()}
    names[pg.group_chat_id] = "the group chat"
    names[pg.personal_chat_id()] = "the personal chat"
    name = names.get(channel, conversation_id)
    return f"{name} thread {root}" if root else name


# ---------------------------------------------------------------- cards


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every element and action of one card level, in order; not inside show cards, fallbacks or data."""
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key not in ("card", "fallback", "data"):
                yield from _walk(value)


def buttons(card: dict[str, Any], path: tuple[str, ...] = (), inputs: tuple[dict, ...] = ()) -> Iterator[dict[str, Any]]:
    """Every Action.Execute, with the show cards that lead to it and the inputs a click submits."""
    nodes = list(_walk([card.get("body", []), card.get("actions", [])]))
    scope = (*inputs, *({"id": n["id"], "label": n.get("label", ""), "required": bool(n.get("isRequired")),
                         **({"value": n["value"]} if "value" in n else {})}
                        for n in nodes if str(n.get("type", "")).startswith("Input.") and "id" in n))
    for node in nodes:
        if node.get("type") == "Action.Execute":
            yield {"title": node.get("title", ""), "path": " › ".join((*path, node.get("title", ""))),
                   "verb": node.get("verb"), "data": node.get("data") or {}, "inputs": list(scope)}
        elif node.get("type") == "Action.ShowCard":
            yield from buttons(node.get("card") or {}, (*path, node.get("title", "")), scope)


def text_lines(card: dict[str, Any]) -> list[str]:
    """The card's visible text (outside show cards): text blocks and facts."""
    lines: list[str] = []
    for node in _walk(card.get("body", [])):
        if node.get("type") == "TextBlock":
            lines.append(plain_text(node.get("text", "")))
        elif node.get("type") == "FactSet":
            lines += [f"{f.get('title', '')}: {plain_text(f.get('value', ''))}" for f in node.get("facts", [])]
    return lines


def plain_text(text: str) -> str:
    """Message text with `<at>Name</at>` shown as @Name."""
    return AT.sub(r"@\1", text)


def simple(title: str) -> str:
    """A title without case, emoji or punctuation, for matching what was typed."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in title.casefold()).split())


def button_line(card: dict[str, Any]) -> str:
    """The card's buttons in one line, show-card forms as "Form › Button"."""
    return f"    buttons: {' | '.join(b['path'] for b in buttons(card)) or '(none)'}"


# ---------------------------------------------------------------- the index that watch keeps and click reads


@contextlib.contextmanager
def index_file(path: Path) -> Iterator[list[dict[str, Any]]]:
    """The indexed cards, oldest first, locked against the other command; changes are saved on exit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cards = json.loads(path.read_text()) if path.exists() and path.stat().st_size else []
        before = json.dumps(cards)
        yield cards
        if json.dumps(cards) != before:
            scratch = path.with_suffix(".tmp")
            scratch.write_text(json.dumps(cards[-KEEP_CARDS:], ensure_ascii=False, indent=1))
            os.replace(scratch, path)


def remember(path: Path, pg: Playground, message_id: str, conversation_id: str, card: dict[str, Any] | None) -> None:
    """Put a card (or its replacement) in the index; a message that lost its card leaves it."""
    with index_file(path) as cards:
        old = next((c for c in cards if c["messageId"] == message_id), None)
        if card is None:
            if old:
                cards.remove(old)
            return
        entry = {"messageId": message_id, "conversationId": conversation_id,
                 "place": place_name(pg, conversation_id), "title": (text_lines(card) or ["(card)"])[0],
                 "buttons": list(buttons(card))}
        if old:
            old.update(entry)
        else:
            cards.append(entry)


# ---------------------------------------------------------------- the three commands


async def say(pg: Playground, user: dict[str, Any], where: str, text: str, thread: str | None, mention: bool) -> None:
    """Post as the user and tell where the bot answers."""
    conversation = target(pg, user, where, thread)
    personal = conversation == pg.personal_chat_id()
    if not mention and not thread and not personal:
        raise Refused("without an @mention the bot never sees a channel or group post; --no-mention is for --thread replies")
    try:
        sent = await pg.send(conversation, user["id"], text, mention_bot=mention and not personal)
    except PlaygroundError as err:
        if thread and "ConversationNotFound" in str(err):
            raise Refused(f"no thread {thread} in #{where}: give the id that `say` or `watch` printed after "
                          "\"thread\"") from None
        raise
    lands = sent["conversationId"]
    print(f"{user['name']} wrote in {place_name(pg, lands)}: {text}")
    print(f"the bot's answers land in {place_name(pg, lands)} (`act_as.py watch` prints them)", end="")
    root = lands.partition(";messageid=")[2]
    print(f"; reply there with --in {where.lower()} --thread {root}" if root else "")


async def watch(pg: Playground, index: Path) -> None:
    """Print each bot message as it arrives and index its card's buttons, until Ctrl-C."""
    print(f"watching {pg.base_url}: bot messages appear here as they arrive; cards go to {index}. Ctrl-C stops.",
          flush=True)
    async for message in pg.follow():
        if message["from"]["id"] != pg.bot_id:
            continue
        card = Playground.card(message)
        remember(index, pg, message["messageId"], message["conversationId"], card)  # clickable once printed
        verb = "updated" if message["action"] == "updateMessage" else "new"
        moment = time.strftime("%H:%M:%S", time.localtime(message.get("timestamp", time.time() * 1000) / 1000))
        what = f'card "{(text_lines(card) or ["(card)"])[0]}"' if card else plain_text(message.get("text") or "")
        what = what.replace("\n", "\n    ")
        print(f"[{moment}] {place_name(pg, message['conversationId'])} · {verb} message {message['messageId']}: {what}")
        if card:
            print(button_line(card))
        sys.stdout.flush()


def choose(index: Path, title: str, card_id: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The newest indexed card (or --card) with a button of that title, and the button."""
    with index_file(index) as stored:
        cards = list(stored)
    if not cards:
        raise Refused(f"no cards in {index}: run `act_as.py watch` in another terminal before the bot posts the card "
                      "(the Playground cannot list past messages)")
    if card_id and not any(c["messageId"] == card_id for c in cards):
        raise Refused(f"no card {card_id} in {index}; newest: {', '.join(c['messageId'] for c in cards[-5:])}")
    wanted = simple(title)
    for card in reversed(cards):
        if card_id not in (None, card["messageId"]):
            continue
        exact = [b for b in card["buttons"] if simple(b["title"]) == wanted]
        found = exact or [b for b in card["buttons"] if simple(b["title"]).startswith(wanted)]
        if len(found) > 1:
            raise Refused(f"{title!r} fits several buttons on card {card['messageId']}: "
                          f"{', '.join(b['path'] for b in found)}")
        if found:
            return card, found[0]
    newest = next((c for c in reversed(cards) if c["buttons"] and card_id in (None, c["messageId"])), cards[-1])
    offered = ", ".join(b["path"] for b in newest["buttons"]) or "none"
    raise Refused(f"no {'such ' if card_id else ''}card with a button {title!r}; "
                  f"card {newest['messageId']} ({newest['title']}) has: {offered}")


def form_data(button: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The button's data with its inputs' defaults and the --field values, as a Teams client would send them."""
    data = {**button["data"], **{i["id"]: i["value"] for i in button["inputs"] if "value" in i}}
    names = {i["id"]: i for i in button["inputs"]}
    for field in fields:
        name, equals, value = field.partition("=")
        if not equals or name not in names:
            offered = ", ".join(f"{i['id']} ({i['label']})" for i in button["inputs"]) or "none"
            raise Refused(f"--field {field!r}: give name=value; {button['path']!r} takes: {offered}")
        data[name] = value
    missing = [f"--field {i['id']}=… ({i['label']})" for i in button["inputs"] if i["required"] and not data.get(i["id"])]
    if missing:
        raise Refused(f"{button['path']!r} needs {', '.join(missing)}")
    return data


async def click(pg: Playground, user: dict[str, Any], title: str, card_id: str | None, fields: list[str], index: Path) -> None:
    """Press a button as the user and print the bot's answer."""
    card, button = choose(index, title, card_id)
    data = form_data(button, fields)
    try:
        answer = await pg.invoke(card["conversationId"], user["id"], card["messageId"], button["verb"], data)
    except PlaygroundError as err:
        if "UserNotFound" in str(err):
            raise Refused(f"{user['name']} is not in {card['place']}, so the Playground refuses the click") from None
        raise Refused(f"the Playground refused the click: {err}") from None
    print(f"{user['name']} pressed {button['path']!r} on card {card['messageId']} ({card['title']}, {card['place']}).")
    value = (answer or {}).get("value")
    if isinstance(value, dict):
        remember(index, pg, card["messageId"], card["conversationId"], value)
        print("The card now reads:")
        print("\n".join(f"    {line}" for line in text_lines(value)))
        print(button_line(value))
    else:
        print(f"The bot answered: {value}")


# ---------------------------------------------------------------- command line


def parser() -> argparse.ArgumentParser:
    """The command line: say, watch, click."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--playground", default=os.environ.get("PLAYGROUND_URL", DEFAULT_URL), metavar="URL",
                        help="the running Playground, as `make dev` printed it (env PLAYGROUND_URL; default %(default)s)")
    indexed = argparse.ArgumentParser(add_help=False)
    indexed.add_argument("--index", type=Path, default=DEFAULT_INDEX, metavar="FILE",
                         help="the card index that watch writes and click reads (default devTools/act_as_cards.json)")
    top = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = top.add_subparsers(dest="command", required=True)

    s = commands.add_parser("say", parents=[common], help="post a message as someone else",
                            description="Post as a Playground user. In channels and the group chat the bot is "
                                        "@mentioned. A channel post opens a thread, where the bot answers.")
    s.add_argument("--as", dest="user", required=True, help="first name or id: dora, lars, paula, nico, fritz, olga")
    s.add_argument("--in", dest="where", required=True, metavar="PLACE",
                   help="backend, general, group, or personal (personal: only the current user, Dora; "
                        "the Playground has no personal chat for anyone else)")
    s.add_argument("--thread", metavar="ID", help="reply in the channel thread that started with this message id")
    s.add_argument("--no-mention", dest="mention", action="store_false",
                   help="a plain thread reply, without @Support Bot (the bot still reads it, as in Teams)")
    s.add_argument("text", nargs="+", help="the message")

    commands.add_parser("watch", parents=[common, indexed], help="print bot messages and index their cards",
                        description="Stay connected to the Playground's streams, print every bot message as it "
                                    "arrives, and keep the cards' buttons in the index for click. The Playground "
                                    "cannot list past messages, only stream new ones: keep watch running in a second "
                                    "terminal while you try the demo, started before the cards you want to click.")

    c = commands.add_parser("click", parents=[common, indexed], help="press a card button as someone else",
                            description="Press an Action.Execute button as a Playground user: on the newest indexed "
                                        "card that has a button with that title (any case, emoji ignored, a prefix is "
                                        "enough), and print the bot's answer. Needs watch running (see watch --help).")
    c.add_argument("--as", dest="user", required=True, help="first name or id: dora, lars, paula, nico, fritz, olga")
    c.add_argument("--card", metavar="MESSAGE_ID", help="the card's message id (as watch prints it); default the newest")
    c.add_argument("--field", action="append", default=[], metavar="NAME=VALUE",
                   help="a form input, e.g. --field question_answer='Restart it' (repeatable)")
    c.add_argument("title", help="the button's title, e.g. \"I'm on it\" or \"Post the answer\"")
    return top


async def run(args: argparse.Namespace) -> None:
    """Attach to the Playground and run one command."""
    try:
        playground = Playground.attach(args.playground, listen=args.command == "watch")
        async with playground as pg:
            if args.command == "watch":
                await watch(pg, args.index)
                return
            user = find_user(pg, args.user)
            if args.command == "say":
                await say(pg, user, args.where, " ".join(args.text), args.thread, args.mention)
            else:
                await click(pg, user, args.title, args.card, args.field, args.index)
    except PlaygroundError as err:
        if "no Agents Playground answers" in str(err):
            raise Refused(f"{err}: start it with `make dev` (or pass --playground / set PLAYGROUND_URL "
                          "to the URL `make dev` printed)") from None
        raise Refused(str(err).splitlines()[0]) from None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; errors are one line on stderr and exit code 1."""
    args = parser().parse_args(argv)
    try:
        asyncio.run(run(args))
    except Refused as err:
        print(f"act_as: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
