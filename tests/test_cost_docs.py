"""docs/cost.md quotes `python -m sandbox cost` exactly: each block is the command's output."""

from __future__ import annotations

import re
import shlex

import pytest
from click.testing import CliRunner

from sandbox.cost import cost
from sandbox.cost_report import BLOCK
from tests.conftest import REPO

DOC = (REPO / "docs" / "cost.md").read_text()


def _output(args: list[str]) -> str:
    result = CliRunner().invoke(cost, args)
    assert result.exit_code == 0, result.output
    return result.output.rstrip("\n")


@pytest.mark.parametrize("block", BLOCK.findall(DOC), ids=lambda block: block[0])
def test_each_bill_in_the_docs_is_what_the_command_prints(block):
    args, text = block
    assert text == _output(shlex.split(args)), "regenerate: python -m sandbox.cost_report docs/cost.md"


def test_the_docs_quote_two_bills_from_saved_measurements():
    blocks = BLOCK.findall(DOC)
    assert len(blocks) == 2 and all("--measured sandbox/measurements/" in args for args, _ in blocks)


def test_the_headline_figures_are_the_commands():
    intro = DOC.split("\n## ", 1)[0]
    printed = "\n".join(_output(shlex.split(args)) for args, _ in BLOCK.findall(DOC))
    printed += _output(["--measured", "sandbox/measurements/workload-default.json", "--fetch"])
    figures = re.findall(r"\$\d[\d,]*\.\d\d\b", intro)
    assert len(figures) >= 8
    for figure in figures:
        assert re.search(re.escape(figure) + r"(?!\d)", printed), figure
    default = BLOCK.findall(DOC)[0][1]
    offline, bedrock = re.search(r"Total a month \(list prices\)\s+(\S+)\s+(\S+)", default).groups()
    assert f"**{offline} a month offline, {bedrock} with Bedrock (Nova Lite)**" in intro
