"""Safe YAML whose mappings remember their line numbers, for error messages people can act on."""

from __future__ import annotations

from typing import Any

import yaml


class LineMap(dict):
    """A mapping that remembers the line of itself and of each key's value."""

    line: int = 0
    lines: dict[str, int]

    def line_of(self, field: str | None = None) -> int:
        """The line of a field's value, or of the mapping itself."""
        return self.lines.get(field, self.line) if field else self.line


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose mappings are LineMaps."""


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> LineMap:
    result = LineMap()
    result.line = node.start_mark.line + 1
    result.lines = {}
    for key_node, value_node in node.value:
        name = loader.construct_object(key_node, deep=True)
        result[name] = loader.construct_object(value_node, deep=True)
        result.lines[str(name)] = value_node.start_mark.line + 1
    return result


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)


class YamlProblem(ValueError):
    """The text is not YAML; carries the line."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: not valid YAML ({problem})")
        self.line = line


def load_yaml(text: str) -> Any:
    """Parse YAML safely (no Python tags) into LineMaps, lists and scalars."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise YamlProblem(mark.line + 1 if mark else 0, str(getattr(err, "problem", None) or err)) from None


def line_of(entry: Any, field: str | None = None) -> int:
    """The line of an entry (or one of its fields); 0 when unknown."""
    return entry.line_of(field) if isinstance(entry, LineMap) else 0


class Problems:
    """Collects problems with their line numbers, reported in line order."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str]] = []

    def add(self, line: int, text: str) -> None:
        """Record one problem."""
        self.items.append((line, f"line {line}: {text}"))

    def __len__(self) -> int:
        return len(self.items)

    def messages(self) -> list[str]:
        """Every problem, sorted by line."""
        return [text for _, text in sorted(self.items, key=lambda item: item[0])]
