"""The source tree a resource is generated into, and the checks a spec must pass against it:
no package, table, test folder, route or operation of that name yet, references to
generated resources only, and one migration head to follow."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from conduit.scaffold.code import pascal
from conduit.scaffold.manifest import manifests, read_resource
from conduit.scaffold.spec import Resource

_REVISION = re.compile(r'^(down_)?revision: str(?: \| None)? = "([^"]*)"', re.MULTILINE)
_PATH = re.compile(r'^@\w+\.(?:get|post|put|patch|delete)\(\s*"([^"]*)"', re.MULTILINE)
_OPERATION = re.compile(r'operation_id="(\w+)"')


@dataclass(frozen=True, slots=True)
class Tree:
    root: Path

    @property
    def package(self) -> Path:
        return self.root / "src" / "conduit"

    @property
    def versions(self) -> Path:
        return self.package / "migrations" / "versions"

    @classmethod
    def find(cls, start: Path) -> Tree:
        """The checkout `start` is in: the folder holding pyproject.toml and src/conduit."""
        for folder in (start, *start.parents):
            if (folder / "pyproject.toml").is_file() and (folder / "src" / "conduit").is_dir():
                return cls(folder)
        raise FileNotFoundError("run this inside a Conduit checkout (no src/conduit found)")

    def heads(self) -> list[str]:
        """The migration revisions nothing revises."""
        revisions: set[str] = set()
        revised: set[str] = set()
        for path in self.versions.glob("*.py"):
            for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
                (revised if down else revisions).add(value)
        return sorted(revisions - revised)

    def tables(self) -> set[str]:
        found = set()
        for path in self.package.glob("*/models.py"):
            found |= set(re.findall(r'__tablename__ = "(\w+)"', path.read_text(encoding="utf-8")))
        return found

    def routes(self) -> tuple[set[str], set[str]]:
        """(the first segment of every route path, every operation id) of the routers."""
        segments, operations = set(), set()
        for path in self.package.glob("*/*router.py"):
            text = path.read_text(encoding="utf-8")
            segments |= {p.strip("/").split("/")[0] for p in _PATH.findall(text)}
            operations |= set(_OPERATION.findall(text))
        return segments, operations

    def generated(self) -> dict[str, Resource]:
        return {plural: read_resource(path) for plural, path in manifests(self.root).items()}


def check(tree: Tree, resource: Resource) -> list[str]:
    """Every clash of the resource with what the tree holds."""
    problems: list[str] = []
    plural = resource.plural
    if (tree.package / plural).exists() or plural in {"core", "migrations", "scaffold"}:
        problems.append(f"package conduit.{plural} exists already")
    if (tree.root / "tests" / plural).exists():
        problems.append(f"tests/{plural} exists already")
    if plural in tree.tables():
        problems.append(f"table {plural!r} exists already")
    segments, operations = tree.routes()
    if plural in segments:
        problems.append(f"routes under /api/{plural} exist already")
    Name = pascal(resource.name)
    mine = {f"List{pascal(plural)}", *(f"{verb}{Name}" for verb in _VERBS)}
    if clash := sorted(mine & operations):
        problems.append(f"operation ids taken already: {', '.join(clash)}")
    generated = tree.generated()
    for f in resource.refs:
        if f.arg[0] not in generated:
            known = ", ".join(sorted(generated)) or "none yet"
            problems.append(f"field {f.name!r}: ref:{f.arg[0]} is no generated resource ({known})")
    heads = tree.heads()
    if len(heads) != 1:
        problems.append(f"the migrations have {len(heads)} heads ({', '.join(heads)}); merge first")
    return problems


_VERBS = ("Create", "Get", "Update", "Replace", "Delete", "Restore")


def next_revision(head: str) -> str:
    return f"{int(head) + 1:04d}" if head.isdigit() else f"{head}_1"
