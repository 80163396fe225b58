"""The report's templates compiled ahead of time: up to date, rendering as the templates do, and
never used once a template has changed."""

from __future__ import annotations

import shutil

import jinja2
import pytest

from chalicelib.notify import precompiled, render
from tests.report_records import hostile_record, market_record


def test_the_committed_compiled_templates_are_those_of_the_templates_now(tmp_path):
    """Fails after a template edit until `make templates` has been run (and its output committed)."""
    fresh = tmp_path / "compiled"
    precompiled.compile_all(render.source_environment(), fresh)

    committed = {path.name: path.read_bytes() for path in precompiled.COMPILED.iterdir() if path.is_file()}
    assert {path.name: path.read_bytes() for path in fresh.iterdir()} == committed


def test_the_report_renders_the_same_through_the_compiled_templates(monkeypatch):
    assert isinstance(render.environment().loader, jinja2.ModuleLoader)  # what notify and the API use
    compiled = [render.render_report(record) for record in (market_record(), hostile_record())]

    monkeypatch.setattr(render, "_environment", render.source_environment)
    assert [render.render_report(record) for record in (market_record(), hostile_record())] == compiled


@pytest.mark.parametrize("edit", ["change", "add", "remove"])
def test_after_any_template_edit_the_templates_themselves_are_used(tmp_path, edit):
    templates = tmp_path / "templates"
    shutil.copytree(precompiled.TEMPLATES, templates)
    assert isinstance(precompiled.loader(jinja2, templates), jinja2.ModuleLoader)

    if edit == "change":
        (templates / "report.txt.j2").write_text((templates / "report.txt.j2").read_text() + "edited\n")
    elif edit == "add":
        (templates / "new.html.j2").write_text("<p>new</p>\n")
    else:
        (templates / "archive.html.j2").unlink()

    assert isinstance(precompiled.loader(jinja2, templates), jinja2.FileSystemLoader)


def test_without_compiled_templates_the_templates_are_used(tmp_path):
    assert isinstance(precompiled.loader(jinja2, compiled=tmp_path / "none"), jinja2.FileSystemLoader)
