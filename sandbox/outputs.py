"""The output folder of `sandbox run` and `demo`: what a run wrote there, and only that, is replaced
by the next run.

A run lists every file it writes in `.sandbox-run.json` inside the folder (the manifest). The next
run removes exactly those files (and the folders under `s3/` they leave empty), never a file the
user put there, even one named like a report. A folder without a manifest loses nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

MANIFEST = ".sandbox-run.json"


class OutputFolderError(Exception):
    """The output folder cannot be created or written (its message is one line for the user)."""


def out_option(help: str) -> Any:
    """The `--out DIR` option of the commands that write an output folder."""
    import click

    # A plain path: `prepare` checks it with one line of error, not click's usage screen.
    return click.option("--out", "out_dir", default="out", show_default=True, type=click.Path(), help=help)


def prepare(out_dir: Path) -> Path:
    """Create `out_dir` if needed; an OutputFolderError says why it cannot be."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / MANIFEST).touch()  # writable? (an empty manifest lists nothing)
    except OSError as exc:
        raise OutputFolderError(f"cannot use {out_dir} as the output folder: {exc.strerror or exc}") from None
    if not out_dir.is_dir():
        raise OutputFolderError(f"cannot use {out_dir} as the output folder: not a folder")
    return out_dir


def clear_previous(out_dir: Path) -> list[Path]:
    """Remove what the previous run listed in the manifest; returns the files removed."""
    listed = _read(out_dir)
    root = out_dir.resolve()
    removed = []
    folders: set[Path] = set()
    for name in listed:
        path = out_dir / name
        if root not in path.resolve().parents:  # a manifest never points outside its folder
            continue
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(path)
            folders.update(p for p in path.parents if root in p.resolve().parents)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):  # deepest first
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    (out_dir / MANIFEST).unlink(missing_ok=True)
    return removed


def record(out_dir: Path, written: list[Path]) -> None:
    """List what this run wrote, for the next run to replace."""
    names = sorted({path.relative_to(out_dir).as_posix() for path in written})
    (out_dir / MANIFEST).write_text(json.dumps({"written": names}, indent=1) + "\n", encoding="utf-8")


def _read(out_dir: Path) -> list[str]:
    try:
        listed = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8")).get("written", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [name for name in listed if isinstance(name, str) and name and not Path(name).is_absolute()]


def report_names(inputs: list[tuple[str, str]]) -> dict[str, str]:
    """analysis id -> the stem of its report files, named after the input it came from
    (`report-AAPL_1day.html` for `inputs/AAPL_1day.csv`); the analysis id's head is added when two
    inputs would give the same name. `inputs` is [(analysis id, input key)], in sending order."""
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for analysis_id, key in inputs:
        name = key.rsplit("/", 1)[-1]
        stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
        if stem.endswith((".json", ".csv")):  # name.json.gz
            stem = stem.rsplit(".", 1)[0]
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._")[:80] or "input"
        candidate = f"report-{stem}"
        if candidate in taken:
            candidate = f"report-{stem}-{analysis_id[:8]}"
        taken.add(candidate)
        stems[analysis_id] = candidate
    return stems
