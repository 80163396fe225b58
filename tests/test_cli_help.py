"""`python -m sandbox <command> --help` describes every option of every command."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from sandbox.__main__ import cli


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix}{name} ")
    return found


COMMANDS = _commands(cli)


def test_every_command_is_checked():
    assert {"run", "demo", "cost", "fetch", "serve"} <= {name for name, _ in COMMANDS}


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[name for name, _ in COMMANDS])
def test_help_describes_every_option(name, command):
    undescribed = [
        option.opts[0]
        for option in command.params
        if isinstance(option, click.Option) and not option.hidden and not (option.help or "").strip()
    ]
    assert undescribed == [], f"{name}: options without help"
    assert (command.help or "").strip(), f"{name} has no description"
    shown = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert shown.exit_code == 0, shown.output
    for option in command.params:
        if isinstance(option, click.Option) and not option.hidden:
            assert option.opts[0] in shown.output
