"""`conduit destroy resource`: remove exactly what `generate` added, its edits included,
after checking that nothing else depends on it and that no generated file was changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from conduit.scaffold.manifest import DIRECTORY, Manifest, digest, manifests, read
from conduit.scaffold.plan import LIST, list_span, prune, replace
from conduit.scaffold.spec import SpecError
from conduit.scaffold.tree import Tree


@dataclass
class Removal:
    tree: Tree
    manifest: Manifest
    files: list[str] = field(default_factory=list)
    edits: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (old, new)

    def as_json(self) -> dict[str, object]:
        return {
            "resource": self.manifest.resource.plural,
            "deleted": self.files,
            "edited": sorted(self.edits),
        }

    def apply(self) -> None:
        for rel, (_, new) in sorted(self.edits.items()):
            replace(self.tree.root / rel, new)
        paths = [self.tree.root / rel for rel in self.files]
        for path in paths:
            path.unlink(missing_ok=True)
        prune(self.tree, paths)


def _find(tree: Tree, name: str) -> tuple[str, Manifest]:
    for plural, path in manifests(tree.root).items():
        manifest = read(path)
        if name in (manifest.resource.name, plural):
            return plural, manifest
    raise SpecError([f"no generated resource {name!r} (nothing in {DIRECTORY}/ names it)"])


def plan_removal(tree: Tree, name: str, *, force: bool = False) -> Removal:
    """What destroying `name` removes, or SpecError listing why it will not."""
    plural, manifest = _find(tree, name)
    problems: list[str] = []
    for other, path in manifests(tree.root).items():
        if other != plural and any(f.arg == (plural,) for f in read(path).resource.refs):
            problems.append(f"{other} refers to {plural}: destroy {other} first")
    if tree.heads() != [manifest.revision]:
        problems.append(
            f"its migration {manifest.revision} is not the only head ({', '.join(tree.heads())})"
        )
    for rel, expected in sorted(manifest.files.items()):
        path = tree.root / rel
        if not path.is_file():
            if not force:
                problems.append(f"{rel} is gone (--force to go on)")
        elif digest(path.read_text(encoding="utf-8")) != expected and not force:
            problems.append(f"{rel} was changed by hand (--force to remove it anyway)")
    edits: dict[str, tuple[str, str]] = {}
    for edit in manifest.edits:
        old = edits[edit.path][0] if edit.path in edits else _read(tree.root / edit.path)
        current = edits[edit.path][1] if edit.path in edits else old
        removed = _remove(current, edit.line, edit.before)
        if removed is None:
            if not force:
                problems.append(f"{edit.path}: the line {edit.line.strip()!r} is not where it was")
            continue
        edits[edit.path] = (old, removed)
    if problems:
        raise SpecError(problems)
    files = sorted([*manifest.files, f"{DIRECTORY}/{plural}.toml"])
    return Removal(tree, manifest, files, edits)


def _remove(text: str, line: str, anchor: str) -> str | None:
    """`text` without the `line` generate added before `anchor` (or in the list it names),
    or None when it is not there."""
    if anchor.startswith(LIST):
        lines = text.split("\n")
        first, end = list_span(lines, anchor)
        if lines[first:end].count(line) != 1:
            return None
        del lines[lines.index(line, first, end)]
        return "\n".join(lines)
    pair = f"{line}\n{anchor}\n"
    return text.replace(pair, f"{anchor}\n") if text.count(pair) == 1 else None


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")
