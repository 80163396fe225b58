"""The deploy case of `python -m sandbox.bench`: the package's size and each function's cold imports."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.bench_core import OUT_DIR, ROOT, Contender, best, print_table, ratios

# --------------------------------------------------------------------------------------------
# The deploy case: package size and cold import time
# --------------------------------------------------------------------------------------------

PACKAGE_DIR = OUT_DIR / "package"
# What each function imports before its first call returns: app.py, then its own stage (its
# handler imports lazily) and boto3 (its first client). For information beside the target.
_COLD_IMPORTS = {
    "cold-baseline": "import boto3, numpy",
    "cold-app": "import app",
    "cold-ingest": "import app, chalicelib.ingest.service, boto3",
    "cold-analyze": "import app, chalicelib.analyze.service, boto3",
    "cold-notify": "import app, chalicelib.notify.service, boto3",
}


def ensure_package(args: argparse.Namespace) -> tuple[Path, dict]:
    """`chalice package` (the Terraform flavour, as `make package`), unzipped beside the zip."""
    import shutil
    import zipfile

    if PACKAGE_DIR.exists():
        shutil.rmtree(PACKAGE_DIR)
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    chalice = Path(sys.executable).with_name("chalice")
    subprocess.run(
        [str(chalice), "package", "--pkg-format", "terraform", "--stage", "dev", str(PACKAGE_DIR / "out")],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    archive = PACKAGE_DIR / "out" / "deployment.zip"
    with zipfile.ZipFile(archive) as package:
        unzipped = sum(info.file_size for info in package.infolist())
        sdk = sum(info.compress_size for info in package.infolist() if _is_sdk(info.filename))
        package.extractall(PACKAGE_DIR / "unzipped")
    facts = {"zipped_bytes": archive.stat().st_size, "unzipped_bytes": unzipped, "sdk_zipped_bytes": sdk}
    return PACKAGE_DIR / "unzipped" / "app.py", facts


# The AWS SDK the package ships (requirements.txt: boto3/botocore and what they need).
_SDK_PARTS = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "python_dateutil", "six", "urllib3")


def _is_sdk(name: str) -> bool:
    top = name.split("/", 1)[0]
    return top.removesuffix(".py").split("-", 1)[0] in _SDK_PARTS


def _cold_import_setup(code: str) -> Callable[[], Callable[[bytes], Any]]:
    def setup() -> Callable[[bytes], Any]:
        def run(_raw: bytes) -> Any:
            # A fresh interpreter in the unzipped package, as Lambda starts one (boto3 from the package).
            subprocess.run([sys.executable, "-c", code], cwd=PACKAGE_DIR / "unzipped", check=True)
            return code

        return run

    return setup


def _cold_summary(code: Any) -> dict:
    return {"code": code}


# Lambda takes a .zip of at most 50 MB through its API (CreateFunction/UpdateFunctionCode, which both
# `chalice deploy` and Terraform use); AWS Lambda developer guide, "Lambda quotas", read 2026-12-04.
_DIRECT_UPLOAD_BYTES = 50 * 10**6
# The app and its own dependencies, without the AWS SDK it ships: the size this case held before.
_OWN_BYTES = 25 * 10**6

DEPLOY_CONTENDERS = tuple(
    Contender(key, f"{code[:40]}", key.removeprefix("cold-"), _cold_import_setup(code), _cold_summary)
    for key, code in _COLD_IMPORTS.items()
)


def report_deploy(args: argparse.Namespace, facts: dict, rows: list[dict]) -> dict:
    print()
    print(
        f"deploy: chalice package --pkg-format terraform: deployment.zip {facts['zipped_bytes'] / 2**20:.1f} MiB zipped, "
        f"{facts['unzipped_bytes'] / 2**20:.1f} MiB unzipped (target <= {_DIRECT_UPLOAD_BYTES // 10**6} MB zipped, "
        f"Lambda's direct-upload quota: {'PASS' if facts['zipped_bytes'] <= _DIRECT_UPLOAD_BYTES else 'FAIL'}); "
        f"cold imports: a fresh interpreter each, best of {args.repeat}"
    )
    sdk = facts.get("sdk_zipped_bytes", 0)
    own = facts["zipped_bytes"] - sdk
    print(
        f"  of which the AWS SDK (boto3, botocore and their dependencies): {sdk / 2**20:.1f} MiB zipped; "
        f"without it {own / 2**20:.1f} MiB (target <= {_OWN_BYTES // 10**6} MB: {'PASS' if own <= _OWN_BYTES else 'FAIL'}). "
        "The cold imports below load boto3 from the package."
    )
    print_table(rows)
    targets = (("app.py import / boto3+numpy", "app", "baseline", "seconds", "<=", 1.3),)
    figures = ratios(rows, targets)
    baseline = best(rows, "baseline", "seconds")
    print("for information, each function's imports up to its first call / boto3+numpy:")
    for function in ("ingest", "analyze", "notify"):
        print(f"  {function:<8} {best(rows, function, 'seconds') / baseline:5.2f}")
    return {"package": facts, "contenders": rows, "ratios": figures}
