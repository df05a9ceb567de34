"""`conduit generate resource` and `conduit destroy resource`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from conduit.scaffold.destroy import plan_removal
from conduit.scaffold.manifest import read_resource
from conduit.scaffold.parse import parse
from conduit.scaffold.plan import build
from conduit.scaffold.spec import Resource, SpecError
from conduit.scaffold.tree import Tree

generate_app = typer.Typer(help="Write new code from a spec.", no_args_is_help=True)
destroy_app = typer.Typer(help="Remove what `generate` wrote.", no_args_is_help=True)

FIELDS_HELP = (
    "name:type[:arg]{:modifier}. Types: str text int float decimal:P,S bool date datetime uuid "
    "email url enum:a,b,c ref:<plural>. Modifiers: optional unique unique=global index filter "
    "sort min=N max=N default=V."
)


def _refuse(problems: list[str]) -> typer.Exit:
    typer.echo("refused; nothing was written:", err=True)
    for problem in problems:
        typer.echo(f"  - {problem}", err=True)
    return typer.Exit(code=2)


@generate_app.command("resource")
def generate_resource(
    name: Annotated[str | None, typer.Argument(help="snake_case singular: todo.")] = None,
    fields: Annotated[list[str] | None, typer.Argument(help=FIELDS_HELP)] = None,
    plural: Annotated[str | None, typer.Option(help="Default: NAME + s.")] = None,
    visibility: Annotated[
        str | None, typer.Option(help="private (the default) or public (with --no-owner).")
    ] = None,
    no_owner: Annotated[bool, typer.Option("--no-owner", help="Only admins write.")] = False,
    soft_delete: Annotated[bool, typer.Option("--soft-delete")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The plan as JSON.")] = False,
    from_file: Annotated[
        Path | None, typer.Option("--from", help="A spec file: generated/<plural>.toml.")
    ] = None,
) -> None:
    """A new API resource: its package, migration and tests, registered as a domain."""
    try:
        tree = Tree.find(Path.cwd())
        resource: Resource
        if from_file is not None:
            if name is not None:
                raise SpecError(["give either NAME and FIELDs or --from, not both"])
            resource = read_resource(from_file)
        elif name is None:
            raise SpecError(["give NAME and FIELDs, or --from FILE"])
        else:
            resource = parse(
                name,
                fields or [],
                plural=plural,
                visibility=visibility or ("public" if no_owner else "private"),
                owner=not no_owner,
                soft_delete=soft_delete,
            )
        plan = build(tree, resource)
    except SpecError as exc:
        raise _refuse(exc.problems) from None
    if as_json:
        typer.echo(json.dumps(plan.as_json(), indent=2))
    else:
        for rel in sorted(plan.files):
            typer.echo(f"create {rel}")
        for rel in sorted(plan.edits):
            typer.echo(f"edit   {rel}")
        if dry_run:
            typer.echo(plan.diff(), nl=False)
    if dry_run:
        return
    plan.write()
    if not as_json:
        typer.echo(f"next: conduit db upgrade, then pytest tests/{resource.plural}")


@destroy_app.command("resource")
def destroy_resource(
    name: Annotated[str, typer.Argument(help="The resource's name (or plural).")],
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    force: Annotated[bool, typer.Option("--force", help="Remove hand-edited files too.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Remove exactly what `generate resource` added. Roll the database back first
    (`conduit db downgrade -1`): the migration goes too."""
    try:
        removal = plan_removal(Tree.find(Path.cwd()), name, force=force)
    except SpecError as exc:
        raise _refuse(exc.problems) from None
    if as_json:
        typer.echo(json.dumps(removal.as_json(), indent=2))
    else:
        for rel in removal.files:
            typer.echo(f"delete {rel}")
        for rel in sorted(removal.edits):
            typer.echo(f"edit   {rel}")
    if not dry_run:
        removal.apply()
