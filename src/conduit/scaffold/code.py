"""Writing Python source as the house formats it: imports sorted and grouped as ruff's isort
does, names in the house's spellings. The generator's output must pass `ruff format --check`
untouched, so everything it writes goes through these few functions."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

LINE = 100
_FIRST_PARTY = ("conduit", "tests")
_THIRD_PARTY = ("alembic", "fastapi", "httpx", "pydantic", "pytest", "sqlalchemy")


def pascal(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def camel(snake: str) -> str:
    first, *rest = snake.split("_")
    return first + "".join(part.capitalize() for part in rest)


def words(snake: str) -> str:
    return snake.replace("_", " ")


def _order(name: str) -> tuple[int, str]:
    """isort's order-by-type: CONSTANTS, then Classes, then functions and modules."""
    bare = name.split(" as ")[0]
    if bare.isupper() or (bare.upper() == bare and "_" in bare):
        return 0, bare
    if bare[:1].isupper():
        return 1, bare
    return 2, bare


def _group(module: str) -> int:
    root = module.split()[0].split(".")[0]
    if root in _FIRST_PARTY:
        return 2
    if root in _THIRD_PARTY:
        return 1
    return 0


@dataclass
class Imports:
    modules: set[str] = field(default_factory=set)  # `import x`
    names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, module: str, *names: str) -> Imports:
        if names:
            self.names[module].update(names)
        else:
            self.modules.add(module)
        return self

    def render(self) -> str:
        groups: list[list[str]] = [[], [], []]
        for module in sorted(self.modules):
            groups[_group(module)].append(f"import {module}")
        for module in sorted(self.names, key=lambda m: m):
            groups[_group(module)].append(_from_line(module, self.names[module]))
        blocks = ["from __future__ import annotations"]
        blocks += ["\n".join(_straight_first(group)) for group in groups if group]
        return "\n\n".join(blocks)


def _straight_first(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("import ")] + [
        line for line in lines if not line.startswith("import ")
    ]


def _from_line(module: str, names: set[str]) -> str:
    ordered = sorted(names, key=_order)
    line = f"from {module} import {', '.join(ordered)}"
    if len(line) <= LINE:
        return line
    inner = "".join(f"    {name},\n" for name in ordered)
    return f"from {module} import (\n{inner})"


def call(head: str, args: list[str], indent: int = 0, tail: str = "") -> str:
    """`head(arg, ...)tail` on one line when it fits, else one argument a line (ruff's
    magic trailing comma)."""
    pad = " " * indent
    one = f"{pad}{head}({', '.join(args)}){tail}"
    if len(one) <= LINE and not any("\n" in arg for arg in args):
        return one
    inner = "".join(f"{pad}    {arg},\n" for arg in args)
    return f"{pad}{head}(\n{inner}{pad}){tail}"


def string(value: str) -> str:
    """A Python string literal in the house's quotes."""
    if '"' in value and "'" not in value:
        return f"'{value}'"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in text.splitlines())


def squeeze(text: str) -> str:
    """At most two blank lines in a row, none at the end but one newline."""
    return re.sub(r"\n{4,}", "\n\n\n", text).rstrip("\n") + "\n"
