"""Every command the runbooks tell an operator to run is one this repository provides: each
`python -m <module> [subcommand] [--options]` names a module, subcommand and options that exist,
and each `make <target>` a target of the Makefile."""

import importlib
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

ROOT = Path(__file__).resolve().parent.parent
RUNBOOKS = sorted((ROOT / "docs" / "runbooks").glob("*.md"))
PYTHON_COMMAND = re.compile(r"python -m ([\w.]+)([^`\n|]*)")
# `make x` (after variables, `A=1 make x`) opening a line of a code block, or a code span: not
# "make" in a sentence.
MAKE_COMMAND = re.compile(r"(?:^|`)(?:[A-Z_]+=\S* )*make ([a-z][\w-]*)", re.MULTILINE)
# What the runbooks run with `python -m`: the module's Typer application.
COMMAND_LINES = {
    "app": "app.cli",
    "migrations.migrate_legacy_wallets": "migrations.migrate_legacy_wallets",
    "migrations.make_legacy_fixture": "migrations.make_legacy_fixture",
}


def commands(pattern: re.Pattern[str]) -> list[tuple[str, re.Match[str]]]:
    return [(runbook.name, match) for runbook in RUNBOOKS for match in pattern.finditer(runbook.read_text())]


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), flags=re.MULTILINE))


def resolved(module: str, arguments: list[str]) -> tuple[Any, list[str]]:
    """The command `python -m module arguments` runs (a click command, from Typer's own copy of
    click), and the options given to it."""
    application = importlib.import_module(COMMAND_LINES[module]).cli
    assert isinstance(application, typer.Typer)
    command = typer.main.get_command(application)
    words = [word for word in arguments if not word.startswith("-")]
    while hasattr(command, "commands"):  # a group: the next word names its subcommand
        assert words, f"python -m {module} needs a subcommand"
        subcommand = command.commands.get(words.pop(0))
        assert subcommand is not None, f"python -m {module} has no subcommand in {arguments}"
        command = subcommand
    return command, [word.split("=", 1)[0] for word in arguments if word.startswith("--")]


def test_there_are_the_two_runbooks_and_they_give_commands() -> None:
    assert [runbook.name for runbook in RUNBOOKS] == ["legacy-migration.md", "rollout.md"]
    assert {name for name, _ in commands(PYTHON_COMMAND)} == {"legacy-migration.md", "rollout.md"}
    assert {match.group(1) for _, match in commands(MAKE_COMMAND)} == {"bench", "test"}


@pytest.mark.parametrize(
    ("runbook", "command"),
    [(name, match.group(0).strip()) for name, match in commands(PYTHON_COMMAND)],
)
def test_each_python_command_of_the_runbooks_exists_with_its_options(runbook: str, command: str) -> None:
    module, *arguments = shlex.split(command.removeprefix("python -m "))
    assert module in COMMAND_LINES, f"{runbook}: {command}: not a command of this repository"
    assert importlib.util.find_spec(module) is not None
    target, options = resolved(module, arguments)
    known = {option for parameter in target.params for option in parameter.opts}
    assert set(options) <= known, f"{runbook}: {command}: unknown options {set(options) - known}"


@pytest.mark.parametrize(
    ("runbook", "target"), [(name, match.group(1)) for name, match in commands(MAKE_COMMAND)]
)
def test_each_make_command_of_the_runbooks_is_a_target(runbook: str, target: str) -> None:
    assert target in make_targets(), f"{runbook}: make {target} is no target of the Makefile"


def test_the_check_catches_a_command_or_an_option_that_does_not_exist() -> None:
    with pytest.raises(AssertionError, match="no subcommand"):
        resolved("app", ["rebuild-ledger"])
    command, options = resolved("migrations.migrate_legacy_wallets", ["--dry-run", "--fast"])
    assert "--fast" not in {option for parameter in command.params for option in parameter.opts}
    assert options == ["--dry-run", "--fast"]
    assert "deploy" not in make_targets()
