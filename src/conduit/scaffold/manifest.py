"""`generated/<plural>.toml`: a generated resource's normalised spec, the files written
(with their hashes) and the lines added to shared files, so that `--from` can regenerate it
and `conduit destroy resource` can take exactly that back out."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from conduit.scaffold.parse import parse
from conduit.scaffold.spec import Resource

DIRECTORY = "generated"


@dataclass(frozen=True, slots=True)
class Edit:
    """One line added to a shared file, right before the line `before`."""

    path: str
    line: str
    before: str


@dataclass(frozen=True, slots=True)
class Manifest:
    resource: Resource
    files: dict[str, str]  # path -> sha256 of what was written
    edits: tuple[Edit, ...]
    revision: str

    def render(self) -> str:
        r = self.resource
        lines = [
            "# Written by `conduit generate resource`. `conduit generate resource --from` this",
            "# file writes the resource again; `conduit destroy resource` removes it.",
            "",
            "[resource]",
            f"name = {_quote(r.name)}",
            f"plural = {_quote(r.plural)}",
            "fields = [" + ", ".join(_quote(f.text()) for f in r.fields) + "]",
            f"visibility = {_quote(r.visibility)}",
            f"owner = {str(r.owner).lower()}",
            f"soft_delete = {str(r.soft_delete).lower()}",
            f"revision = {_quote(self.revision)}",
            "",
            "[files]",
            *(f"{_quote(path)} = {_quote(digest)}" for path, digest in sorted(self.files.items())),
        ]
        for edit in self.edits:
            lines += [
                "",
                "[[edits]]",
                f"path = {_quote(edit.path)}",
                f"line = {_quote(edit.line)}",
                f"before = {_quote(edit.before)}",
            ]
        return "\n".join(lines) + "\n"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def digest(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def read_resource(path: Path) -> Resource:
    """The spec a manifest (or any file in its format) records."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))["resource"]
    return parse(
        data["name"],
        list(data["fields"]),
        plural=data["plural"],
        visibility=data["visibility"],
        owner=data["owner"],
        soft_delete=data["soft_delete"],
    )


def read(path: Path) -> Manifest:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    edits = tuple(Edit(e["path"], e["line"], e["before"]) for e in data.get("edits", ()))
    return Manifest(read_resource(path), dict(data["files"]), edits, data["resource"]["revision"])


def manifests(root: Path) -> dict[str, Path]:
    """The generated resources of a tree, by plural."""
    folder = root / DIRECTORY
    return {path.stem: path for path in sorted(folder.glob("*.toml"))} if folder.is_dir() else {}
