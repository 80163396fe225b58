"""A stage's deploy settings, stated once: `.chalice/settings-<stage>.json`.

The bootstrap writes it from its command line (`--sender`, `--recipients`, `--set …`); the
policy files and `.chalice/config.json` (`infra.chalice_config`), `chalice deploy` (through them)
and the Terraform package (`infra.terraform`: variables and `terraform.tfvars.json`) all read it.
It holds only what a deployer stated, never anything read from an AWS account, so the same file
deploys to any account. Commit it with the rest of the project.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.resources import check_settings, email_list


def settings_path(chalice_dir: Path, stage: str) -> Path:
    return chalice_dir / f"settings-{stage}.json"


def load_stage_settings(chalice_dir: Path, stage: str) -> dict[str, Any]:
    """What the stage's settings file states ({} when there is none); refuses unknown or unusable values."""
    path = settings_path(chalice_dir, stage)
    if not path.exists():
        return {}
    try:
        stated = json.loads(path.read_text())
    except ValueError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    if not isinstance(stated, dict):
        raise ValueError(f"{path}: expected a JSON object of settings")
    try:
        check_settings(stated)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    return stated


_ADDRESS_LISTS = ("recipient_emails", "operations_emails")  # `a,b` on a command line, a list in the file


def save_stage_settings(chalice_dir: Path, stage: str, stated: dict[str, Any]) -> bool:
    """Write the stage's settings (keys sorted, address lists as lists); True if the file changed."""
    check_settings(stated)
    normalised = {key: email_list(value) if key in _ADDRESS_LISTS else value for key, value in stated.items()}
    text = json.dumps(dict(sorted(normalised.items())), indent=2) + "\n"
    path = settings_path(chalice_dir, stage)
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True
