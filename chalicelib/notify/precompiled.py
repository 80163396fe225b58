"""The report's templates compiled ahead of time, so a cold start does not compile them.

jinja2 turns a template into Python before its first render: about 0.3 s for the report and
archive templates, paid by every new Lambda container of notify and of the archive API.
`python -m chalicelib.notify.precompiled` (`make templates`) writes that Python into
`templates_compiled/`, with a manifest of the SHA-256 of each template it came from. The loader
uses the compiled modules only while every template still has its recorded hash; after any edit
it compiles from the templates as before, so a stale module is never rendered. A test fails
while the committed modules are out of date.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).resolve().parent / "templates"
COMPILED = Path(__file__).resolve().parent / "templates_compiled"
MANIFEST = "manifest.json"


def source_hashes(templates: Path = TEMPLATES) -> dict[str, str]:
    """{template name: SHA-256 of its text} for every template."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(templates.glob("*.j2"))}


def loader(jinja2: Any, templates: Path = TEMPLATES, compiled: Path = COMPILED) -> Any:
    """The compiled modules when they match the templates, else the templates themselves."""
    source = jinja2.FileSystemLoader(str(templates))
    try:
        recorded = json.loads((compiled / MANIFEST).read_text())
    except (OSError, ValueError):
        return source
    if recorded != source_hashes(templates):
        return source
    return jinja2.ModuleLoader(str(compiled))


def compile_all(environment: Any, target: Path = COMPILED, templates: Path = TEMPLATES) -> None:
    """Write every template's compiled module and the manifest into `target` (replacing it)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    environment.compile_templates(str(target), zip=None, ignore_errors=False)
    (target / MANIFEST).write_text(json.dumps(source_hashes(templates), indent=2, sort_keys=True) + "\n")


def main() -> int:
    from chalicelib.notify.render import source_environment

    compile_all(source_environment())
    print(f"compiled {len(source_hashes())} templates into {COMPILED.relative_to(Path.cwd())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
