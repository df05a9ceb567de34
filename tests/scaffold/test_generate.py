"""What `conduit generate resource` writes: pinned by golden files, the same every time,
nothing on a dry run, and exactly undone by `conduit destroy resource`.

The golden files are the todo resource of the README. After a change to the generator (or a
new migration, which the generated one follows), write them anew and review the diff:
`UPDATE_GOLDEN=1 pytest tests/scaffold/test_generate.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conduit.scaffold.parse import parse
from conduit.scaffold.plan import build
from conduit.scaffold.tree import Tree, next_revision
from tests.factories import generated_resources
from tests.scaffold.conftest import ROOT, SPECS, TODO, conduit, snapshot

GOLDEN = ROOT / "tests" / "scaffold" / "golden"
# The golden files and the plans below describe a checkout that holds no generated resource
# (main); in one that does (CI's scratch clone), the next migration and the edits differ.
pytestmark = pytest.mark.skipif(
    bool(generated_resources()), reason="this checkout holds generated resources"
)

# The revision a generated resource's migration gets: the one after the checkout's head.
NEXT = next_revision(Tree(ROOT).heads()[0])


def todo_plan(root: Path) -> dict[str, str]:
    name, *fields = TODO
    plan = build(Tree(root), parse(name, fields))
    return {**plan.files, "edits.diff": plan.diff()}


def test_the_output_matches_the_golden_files(tree: Path) -> None:
    files = todo_plan(tree)
    if os.environ.get("UPDATE_GOLDEN"):
        for rel, content in files.items():
            (GOLDEN / f"{rel}.txt").parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / f"{rel}.txt").write_text(content, encoding="utf-8")
    golden = {
        str(path.relative_to(GOLDEN)).removesuffix(".txt"): path.read_text(encoding="utf-8")
        for path in GOLDEN.rglob("*.txt")
    }
    assert sorted(files) == sorted(golden)
    for rel, content in files.items():
        assert content == golden[rel], f"{rel} differs from its golden file"


def test_the_same_spec_gives_the_same_bytes(tree: Path) -> None:
    assert todo_plan(tree) == todo_plan(tree)


def test_a_dry_run_prints_the_plan_and_writes_nothing(tree: Path) -> None:
    before = snapshot(tree)
    result = conduit("generate", "resource", *TODO, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "create src/conduit/todos/router.py" in result.output
    assert '+    Domain("todos", models=True, scope="todos:write"),' in result.output
    plan = json.loads(conduit("generate", "resource", *TODO, "--dry-run", "--json").output)
    assert f"src/conduit/migrations/versions/{NEXT}_todos.py" in plan["created"]
    assert plan["edited"] == [
        "pyproject.toml",
        "src/conduit/auth/permissions.py",
        "src/conduit/domains.py",
    ]
    assert snapshot(tree) == before


def test_destroy_takes_out_exactly_what_generate_put_in(tree: Path) -> None:
    before = snapshot(tree)
    assert conduit("generate", "resource", *TODO).exit_code == 0
    assert (tree / "generated" / "todos.toml").is_file()
    again = conduit("generate", "resource", "--from", "generated/todos.toml")
    assert again.exit_code == 2
    assert "package conduit.todos exists already" in again.output
    result = conduit("destroy", "resource", "todo")
    assert result.exit_code == 0, result.output
    assert snapshot(tree) == before


def test_from_a_manifest_gives_the_same_files(tree: Path) -> None:
    assert conduit("generate", "resource", *TODO).exit_code == 0
    written = snapshot(tree)
    manifest = (tree / "generated" / "todos.toml").read_text(encoding="utf-8")
    assert conduit("destroy", "resource", "todos").exit_code == 0
    (tree / "spec.toml").write_text(manifest, encoding="utf-8")
    assert conduit("generate", "resource", "--from", "spec.toml").exit_code == 0
    assert snapshot(tree) == {**written, "spec.toml": snapshot(tree)["spec.toml"]}


def test_destroy_refuses_a_file_edited_by_hand_unless_forced(tree: Path) -> None:
    before = snapshot(tree)
    assert conduit("generate", "resource", *TODO).exit_code == 0
    router = tree / "src" / "conduit" / "todos" / "router.py"
    router.write_text(router.read_text(encoding="utf-8") + "# mine\n", encoding="utf-8")
    refused = conduit("destroy", "resource", "todo")
    assert refused.exit_code == 2
    assert "src/conduit/todos/router.py was changed by hand" in refused.output
    assert router.is_file()
    assert conduit("destroy", "resource", "todo", "--force").exit_code == 0
    assert snapshot(tree) == before


@pytest.mark.parametrize("blocker", ["reference", "later migration"])
def test_destroy_refuses_what_others_depend_on(tree: Path, blocker: str) -> None:
    assert conduit("generate", "resource", "--from", str(SPECS / "projects.toml")).exit_code == 0
    if blocker == "reference":
        assert conduit("generate", "resource", "--from", str(SPECS / "tasks.toml")).exit_code == 0
        expected = "tasks refers to projects"
    else:
        versions = tree / "src" / "conduit" / "migrations" / "versions"
        later = next_revision(NEXT)
        (versions / f"{later}_later.py").write_text(
            f'revision: str = "{later}"\ndown_revision: str | None = "{NEXT}"\n', encoding="utf-8"
        )
        expected = f"its migration {NEXT} is not the only head"
    before = snapshot(tree)
    refused = conduit("destroy", "resource", "project")
    assert refused.exit_code == 2
    assert expected in refused.output
    assert snapshot(tree) == before
