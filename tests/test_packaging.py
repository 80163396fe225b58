"""`chalice package` must ship every runtime dependency (it silently drops wheels it can't match)."""

from __future__ import annotations

import re
import zipfile

import pytest

from tests.conftest import REPO

# Import names that must be inside the deployment zip for each requirement.
_MUST_CONTAIN = {
    "aws-lambda-powertools": "aws_lambda_powertools/",
    "boto3": "boto3/",
    "botocore": "botocore/",
    "orjson": "orjson/",
    "msgspec": "msgspec/",
    "numpy": "numpy/",
    "jinja2": "jinja2/",
    "markupsafe": "markupsafe/",
    "css-inline": "css_inline/",
}


def _requirements() -> list[str]:
    names = []
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower())
    return names


def test_every_requirement_has_a_known_import_path():
    assert sorted(_requirements()) == sorted(_MUST_CONTAIN)


@pytest.mark.slow
def test_chalice_package_contains_every_runtime_dependency(terraform_package):
    # The zip `make package` writes (chalice package, built once per session in tests/conftest.py).
    with zipfile.ZipFile(terraform_package / "deployment.zip") as package:
        names = package.namelist()
    for requirement, path in _MUST_CONTAIN.items():
        assert any(n.startswith(path) for n in names), f"{requirement} missing from the Lambda package"
    # numpy's compiled core must be a Linux x86_64 CPython 3.13 build, not a local one.
    cores = [n for n in names if re.match(r"numpy/_core/_multiarray_umath\.cpython-313-x86_64-linux-gnu\.so$", n)]
    assert cores, "numpy's compiled core for Lambda (cp313 x86_64 linux) is missing"
    # css-inline is compiled too (an abi3 wheel): its extension must be the Linux build.
    assert "css_inline/css_inline.abi3.so" in names, "css-inline's compiled extension for Lambda is missing"
    assert "app.py" in names and any(n.startswith("chalicelib/") for n in names)
    # The report's templates are loaded from beside chalicelib/notify/render.py at run time.
    assert {"chalicelib/notify/templates/report.html.j2", "chalicelib/notify/templates/report.txt.j2"} <= set(names)
    # ... and their compiled modules, which a cold start uses instead of compiling them.
    compiled = sorted(p.name for p in (REPO / "chalicelib" / "notify" / "templates_compiled").iterdir() if p.is_file())
    assert {f"chalicelib/notify/templates_compiled/{name}" for name in compiled} <= set(names)
    assert not any(n.startswith(("sandbox/", "tests/")) for n in names)
