"""What generating a resource writes, worked out in full before the tree is touched, then
written all at once, or not at all: a failure part-way puts back what was written."""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from conduit.scaffold.manifest import DIRECTORY, Edit, Manifest, digest
from conduit.scaffold.repository import render_repository
from conduit.scaffold.router import render_router
from conduit.scaffold.rules_tests import render_rules_tests
from conduit.scaffold.schemas import render_schemas
from conduit.scaffold.service import render_dependencies, render_service
from conduit.scaffold.spec import Resource, SpecError
from conduit.scaffold.tables import render_limits, render_migration, render_model
from conduit.scaffold.testdata import Parents, bodies
from conduit.scaffold.tests import render_api_tests
from conduit.scaffold.tree import Tree, check, next_revision

# The lines a new domain adds to shared files, each before an anchor line that stays.
_DOMAIN_ANCHOR = '    Domain("ops", at_root=True),  # health, readiness, metrics'
_SCOPE_ANCHOR = '    ADMIN = "admin"  # admin endpoints; only an admin\'s key may hold it'
LIST = "list:"
_LISTS = (
    ("domain-layers", "containers"),
    ("core-imports-no-domain", "forbidden_modules"),
    ("no-foreign-repository", "source_modules"),
    ("domains-do-not-import-the-app", "source_modules"),
)


@dataclass
class Plan:
    tree: Tree
    manifest: Manifest
    files: dict[str, str] = field(default_factory=dict)  # path -> content, all new
    edits: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (old, new)

    def diff(self) -> str:
        out: list[str] = []
        for path, (old, new) in sorted(self.edits.items()):
            out += difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True), path, path
            )
        return "".join(out)

    def as_json(self) -> dict[str, object]:
        return {
            "resource": self.manifest.resource.plural,
            "created": sorted(self.files),
            "edited": sorted(self.edits),
            "diff": self.diff(),
        }

    def write(self) -> None:
        """Every file and edit, or none: a failure removes what was written and restores
        what was edited, then raises."""
        written: list[Path] = []
        originals: dict[Path, str] = {}
        try:
            for rel, content in sorted(self.files.items()):
                path = self.tree.root / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("x", encoding="utf-8") as handle:  # never overwrite
                    written.append(path)
                    handle.write(content)
            for rel, (old, new) in sorted(self.edits.items()):
                path = self.tree.root / rel
                if path.read_text(encoding="utf-8") != old:
                    raise RuntimeError(f"{rel} changed while generating")
                replace(path, new)
                originals[path] = old
        except BaseException:
            for path, old in originals.items():
                replace(path, old)
            for path in reversed(written):
                path.unlink(missing_ok=True)
            prune(self.tree, written)
            raise


def replace(path: Path, text: str) -> None:
    """Write a file whole or not at all: a new file, then renamed over the old one."""
    temporary = path.with_name(f".{path.name}.conduit-generate")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def prune(tree: Tree, paths: list[Path]) -> None:
    """Remove the folders that only what was written filled."""
    for folder in sorted({p.parent for p in paths}, key=lambda p: -len(p.parts)):
        cache = folder / "__pycache__"
        if cache.is_dir():
            for item in cache.iterdir():
                item.unlink()
            cache.rmdir()
        if folder.is_dir() and folder != tree.root and not any(folder.iterdir()):
            folder.rmdir()


def formatted(tree: Tree, rel: str, source: str) -> str:
    """`source` as ruff sorts its imports and formats it (the project's own settings)."""
    steps = (
        ["check", "--fix", "--select", "I,F401", "--exit-zero", "--quiet"],
        ["format"],
    )
    for step in steps:
        result = subprocess.run(  # noqa: S603 - our own interpreter and ruff, no shell
            [sys.executable, "-m", "ruff", *step, "--stdin-filename", rel, "-"],
            input=source,
            capture_output=True,
            text=True,
            cwd=tree.root,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"ruff could not format {rel}: {result.stderr.strip()}")
        source = result.stdout
    return source


def _insert(text: str, anchor: str, line: str) -> str:
    """`text` with `line` added before the line `anchor`, or inside the import-linter list
    that `anchor` names (`list:<contract id>.<key>`), among its domains in order."""
    if anchor.startswith(LIST):
        return _insert_in_list(text, anchor, line)
    if text.count(anchor + "\n") != 1:
        raise RuntimeError(f"cannot find the line {anchor.strip()!r} to add {line.strip()!r}")
    return text.replace(anchor + "\n", line + "\n" + anchor + "\n")


def list_span(lines: list[str], anchor: str) -> tuple[int, int]:
    """The indexes of the first item and of the closing `]` of the list `anchor` names."""
    contract, key = anchor.removeprefix(LIST).split(".")
    start = lines.index(f'id = "{contract}"')
    opening = next(i for i in range(start, len(lines)) if lines[i].startswith(f"{key} = ["))
    return opening + 1, lines.index("]", opening)


def _insert_in_list(text: str, anchor: str, line: str) -> str:
    lines = text.split("\n")
    first, end = list_span(lines, anchor)
    domains = [i for i in range(first, end) if _is_domain(lines[i])]
    later = [i for i in domains if lines[i] > line]
    at = later[0] if later else (domains[-1] + 1 if domains else first)
    lines.insert(at, line)
    return "\n".join(lines)


def _is_domain(line: str) -> bool:
    """An item naming a domain package, `"conduit.x",`: in every list the application's
    own modules come after the domains."""
    name = line.strip().strip('",')
    return line.startswith('    "conduit.') and name not in _APPLICATION


_APPLICATION = frozenset(
    f"conduit.{m}"
    for m in ("api", "asgi", "cli", "domains", "main", "migrations", "models", "seed", "scaffold")
)


def build(tree: Tree, resource: Resource) -> Plan:
    """The whole plan, or SpecError with every clash found."""
    problems = check(tree, resource)
    if problems:
        raise SpecError(problems)
    parents = {f.arg[0]: tree.generated()[f.arg[0]] for f in resource.refs}
    [head] = tree.heads()
    revision = next_revision(head)
    plural = resource.plural
    package = f"src/conduit/{plural}"
    sources = {
        f"{package}/__init__.py": "",
        f"{package}/models.py": render_model(resource),
        f"{package}/schemas.py": render_schemas(resource),
        f"{package}/repository.py": render_repository(resource),
        f"{package}/service.py": render_service(resource, parents),
        f"{package}/dependencies.py": render_dependencies(resource),
        f"{package}/router.py": render_router(resource),
        f"src/conduit/migrations/versions/{revision}_{plural}.py": render_migration(
            resource, revision, head, " ".join(f.text() for f in resource.fields)
        ),
        f"tests/{plural}/__init__.py": "",
        f"tests/{plural}/test_api.py": render_api_tests(resource, _bodies(parents)),
        f"tests/{plural}/test_rules.py": render_rules_tests(resource, _bodies(parents)),
    }
    limits = render_limits(resource)
    if limits is not None:
        sources[f"{package}/limits.py"] = limits
    files = {rel: formatted(tree, rel, text) if text else text for rel, text in sources.items()}
    edits = [
        Edit("src/conduit/domains.py", _domain_line(resource), _DOMAIN_ANCHOR),
        Edit(
            "src/conduit/auth/permissions.py",
            f'    {plural.upper()}_WRITE = "{plural}:write"',
            _SCOPE_ANCHOR,
        ),
        *(Edit("pyproject.toml", f'    "conduit.{plural}",', LIST + ".".join(a)) for a in _LISTS),
    ]
    changed: dict[str, tuple[str, str]] = {}
    for edit in edits:
        old = changed[edit.path][0] if edit.path in changed else _read(tree, edit.path)
        current = changed[edit.path][1] if edit.path in changed else old
        changed[edit.path] = (old, _insert(current, edit.before, edit.line))
    manifest_path = f"{DIRECTORY}/{plural}.toml"
    manifest = Manifest(
        resource, {rel: digest(text) for rel, text in files.items()}, tuple(edits), revision
    )
    files[manifest_path] = manifest.render()
    return Plan(tree, manifest, files, changed)


def _domain_line(resource: Resource) -> str:
    p = resource.plural
    return f'    Domain("{p}", models=True, scope="{p}:write"),'


def _bodies(parents: dict[str, Resource]) -> Parents:
    """For each referenced resource: four valid create bodies, and whether only admins
    create."""
    return {plural: (bodies(parent, 4), not parent.owner) for plural, parent in parents.items()}


def _read(tree: Tree, rel: str) -> str:
    return (tree.root / rel).read_text(encoding="utf-8")
