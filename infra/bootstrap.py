"""`python -m infra.bootstrap`: what `chalice deploy` needs and does not create, from `infra.resources`.

    python -m infra.bootstrap resources --stage dev --sender you@example.com --recipients a@x.com,b@y.com
    python -m infra.bootstrap wire --stage dev                                 # after chalice deploy
    python -m infra.bootstrap destroy --stage dev [--delete-data [--force]]   # after chalice delete
    python -m infra.bootstrap sender --stage dev                  # the SES identity only (Terraform path)

`resources` records the stage's settings in `.chalice/settings-<stage>.json` (what the command
line states, merged into what the file already holds: every deploy path reads that file), then
creates (or brings back to its definition) the app's KMS key, the bucket (public access blocked,
default encryption, versioning, lifecycle rules; named after the account and region unless
`--bucket` names it), the analyses table (stream NEW_IMAGE, point-in-time recovery), the SES
sender identity, a dead-letter queue per function, each function's log group with its retention,
the alarm topic (with `--alarm-email` subscribed) and the alarms, the monthly budget alarm when
`--set monthly_budget_usd=N` (`infra.budget`), each function's IAM role (named
per region, `infra.roles`), and finally writes the stage's policy files, role ARNs and environment (names, stream ARN, sender, recipients, insights provider) into
`.chalice/`. `wire` attaches each deployed function's dead-letter queue and gives the stream
mapping its bisect/retry/partial-batch/on-failure settings. Both print what they did per resource
(`created`, `updated` or `unchanged`); a second run changes nothing. `sender` creates the stage's
SES sender identity if it is missing and nothing else: the Terraform package leaves the identity out
(it may be shared by stages and apps, so no stage's destroy may delete it), and nothing here ever
deletes one. AWS settings come from the usual places (profile, region, `AWS_ENDPOINT_URL` for a
test server). `destroy` (after `chalice delete`) removes what `resources` created (see
`infra.teardown`), keeping the bucket, the table with their data and the key the table is
encrypted with, unless `--delete-data` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra import chalice_config
from infra.budget import delete_budget, ensure_budget
from infra.provision import Bootstrap
from infra.resources import INSIGHTS_PROVIDERS, add_settings_option, email_list, resource_specs
from infra.roles import ensure_roles
from infra.settings import load_stage_settings, save_stage_settings
from infra.steps import UNCHANGED, UPDATED
from infra.teardown import Teardown

CHALICE_DIR = Path(__file__).resolve().parent.parent / ".chalice"


def write_chalice_files(
    chalice_dir: Path,
    specs: dict[str, Any],
    stream_arn: str | None = None,
    role_arns: dict[str, str] | None = None,
) -> list[str]:
    """The stage's policy files, roles and environment (with the stream ARN, and notify's archive
    URL once `chalice deploy` has recorded the API's) in `chalice_dir`; the names written. Without
    `stream_arn` and `role_arns`, the ones the config already holds stay."""
    config = json.loads((chalice_dir / "config.json").read_text())
    stage = specs["stage"]
    api_urls = {stage: chalice_config.deployed_api_url(chalice_dir, stage)}
    config, files = chalice_config.render(config, {stage: specs}, {stage: role_arns} if role_arns else None, api_urls)
    if stream_arn:
        config["stages"][stage]["environment_variables"]["ANALYSES_STREAM_ARN"] = stream_arn
    stale = chalice_config.stale_files(chalice_dir, config, files)
    for name, text in stale.items():
        (chalice_dir / name).write_text(text)
    return sorted(stale)


def link_emails_to_the_archive(chalice_dir: Path, specs: dict[str, Any]) -> str | None:
    """Under api_auth=link without a stated archive_url: the API's URL `chalice deploy` recorded,
    rendered into notify's environment in `.chalice/config.json` so the next deploy keeps it (wire
    sets it on the deployed function now). None when there is nothing to fill in."""
    link = specs.get("archive_link_key")
    url = chalice_config.deployed_api_url(chalice_dir, specs["stage"]) if link and link["url_from_api"] else None
    if url:
        write_chalice_files(chalice_dir, specs)
    return url


def stated_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line states (flags and `--set`)."""
    stated: dict[str, Any] = dict(args.settings)
    flags = {
        "sender_email": args.sender,
        "recipient_emails": email_list(args.recipients) if args.recipients is not None else None,
        "alarm_email": args.alarm_email,
        "bucket_name": args.bucket,
        "insights_provider": args.insights_provider,
        "fetch_symbols": args.fetch_symbols,
    }
    stated.update({key: value for key, value in flags.items() if value is not None})
    return stated


def main(argv: list[str] | None = None, client: Callable[[str], Any] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.bootstrap", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "step",
        choices=("resources", "wire", "sender", "destroy"),
        help="resources: before chalice deploy; wire: after it; sender: only the SES sender identity "
        "(Terraform path); destroy: after chalice delete",
    )
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--sender", help="the verified SES address reports come from (required once)")
    parser.add_argument("--recipients", help="comma-separated addresses the report goes to (required once)")
    parser.add_argument("--alarm-email", help="an address to subscribe to the alarm topic ('' for none)")
    parser.add_argument("--bucket", help="the data bucket's name (default: <app>-<stage>-data-<account>-<region>)")
    parser.add_argument("--insights-provider", choices=INSIGHTS_PROVIDERS, help="offline (default) or bedrock")
    parser.add_argument(
        "--fetch-symbols",
        help="symbols to fetch from Twelve Data on the schedule (AAPL,MSFT or s3://bucket/key or ssm:/name)",
    )
    parser.add_argument(
        "--twelvedata-key-env",
        metavar="VAR",
        help="the environment variable holding your Twelve Data API key: stored as an SSM SecureString",
    )
    parser.add_argument(
        "--delete-data", action="store_true", help="destroy: also empty and delete the bucket and the table"
    )
    parser.add_argument(
        "--force", action="store_true", help="destroy --delete-data: even a table with deletion protection on"
    )
    add_settings_option(parser)
    parser.add_argument("--chalice-dir", type=Path, default=CHALICE_DIR)
    args = parser.parse_args(argv)
    try:
        stated = {**load_stage_settings(args.chalice_dir, args.stage), **stated_settings(args)}
        missing = [flag for key, flag in (("sender_email", "--sender"), ("recipient_emails", "--recipients"))
                   if key not in stated]  # fmt: skip
        if args.step in ("resources", "sender") and missing:
            raise ValueError(
                f"stage {args.stage} has no {' and no '.join(missing)} yet: state them once, e.g. "
                "--sender reports@your-domain.com --recipients you@your-domain.com "
                f"(kept in {args.chalice_dir / f'settings-{args.stage}.json'})"
            )
        app_name = json.loads((args.chalice_dir / "config.json").read_text())["app_name"]
        resource_specs(app_name, args.stage, **stated)  # refuse a bad setting before touching AWS
        api_key = None
        if args.twelvedata_key_env:
            api_key = os.environ.get(args.twelvedata_key_env, "").strip()
            if not api_key:
                raise ValueError(f"--twelvedata-key-env {args.twelvedata_key_env}: that variable is not set")
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if client is None:
        import boto3

        client = boto3.session.Session().client
    sts = client("sts")
    identity = sts.get_caller_identity()
    account, partition, region = identity["Account"], identity["Arn"].split(":")[1], sts.meta.region_name
    try:
        specs = resource_specs(app_name, args.stage, account, region, **stated)  # names with the region
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def report(kind: str, name: str, outcome: str) -> None:
        print(f"  {kind:<18} {name:<45} {outcome}")

    bootstrap = Bootstrap(specs, client, report, account, partition)
    print(f"{args.step} for stage {args.stage} (account {account}, {region}):")
    if args.step == "wire":
        archive_url = link_emails_to_the_archive(args.chalice_dir, specs)
        bootstrap.wire({"ARCHIVE_URL": archive_url} if archive_url else None)
        return 0
    if args.step == "destroy":
        try:
            Teardown(specs, client, report).destroy(delete_data=args.delete_data, force=args.force)
            delete_budget(specs["budget_name"], client, report, account)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.step == "sender":
        bootstrap.email_identity()  # created if missing, never deleted: stages and apps may share it
        return 0
    settings_changed = save_stage_settings(args.chalice_dir, args.stage, stated)
    report("settings", f"settings-{args.stage}.json", UPDATED if settings_changed else UNCHANGED)
    stream_arn = bootstrap.resources(api_key)
    ensure_budget(specs, specs["budget_name"], client, report, account)
    role_arns = ensure_roles(specs, client, report, chalice_config.stage_policies(specs), account, partition)
    written = write_chalice_files(args.chalice_dir, specs, stream_arn, role_arns)
    report("chalice config", str(args.chalice_dir), f"{UPDATED} ({', '.join(written)})" if written else UNCHANGED)
    return 0


if __name__ == "__main__":
    sys.exit(main())
