"""`python -m infra.backfill_archive --stage dev [--dry-run]`: the archive's per-symbol items for
analyses stored before analyze wrote them.

Analyze writes, beside each analysis, a reading per series, a directory entry per symbol and the
analysis item's `movers` (chalicelib.readings); the archive's symbol pages, search and index read
only those. An analysis stored earlier has none: this walks the table's `analysis` partition
oldest first (a Query of the `kind-created_at` index, never a Scan), reads each record (the item,
or its S3 copy) and writes what analyze would have written, then sets the item's `movers`, which
marks it done: a second run skips it. The readings have no bar datetimes (the record does not
keep them), so their symbol's chart falls back to its closes until newer analyses arrive.

Setting `movers` is a MODIFY on the table's stream: notify's mapping lets it through (its kind is
`analysis`) and notify skips it (it emails INSERTs only).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib.analysis_store import AnalysisStore
from chalicelib.api.archive import Archive
from chalicelib.readings import archive_items, movers
from chalicelib.storage import ObjectStore

DONE, SKIPPED, MISSING = "backfilled", "already there", "record missing"
_PROJECTION = ("analysis_id", "kind", "created_at", "movers")


def backfill(
    ddb: Any, s3: Any, table: str, bucket: str, report: Callable[[str, str, str], None], dry_run: bool = False
) -> dict[str, int]:
    """Backfill every analysis without `movers`; counts of each outcome."""
    archive = Archive(ddb, table, s3, bucket)
    store = AnalysisStore(ddb, table, ObjectStore(s3, bucket), 0)
    counts = {DONE: 0, SKIPPED: 0, MISSING: 0}
    start = None
    while True:
        items, start = archive.analyses(25, start, newest_first=False, projection=_PROJECTION)
        for summary in items:
            analysis_id = str(summary["analysis_id"])
            outcome, note = SKIPPED, ""
            if "movers" not in summary:
                item = archive.item(analysis_id)
                record = archive.record(item) if item else None
                outcome = MISSING if record is None else DONE
                if record is not None and dry_run:
                    note = " (dry run: nothing written)"
                elif record is not None:
                    written = store.put_many(archive_items(record))
                    ddb.update_item(
                        TableName=table,
                        Key={"analysis_id": {"S": analysis_id}},
                        UpdateExpression="SET movers = :m",
                        ConditionExpression="attribute_exists(analysis_id)",
                        ExpressionAttributeValues={":m": _dynamo_list(movers(record))},
                    )
                    note = f" ({written} items)"
            counts[outcome] += 1
            report("analysis", analysis_id, outcome + note)
        if start is None:
            return counts


def _dynamo_list(value: list) -> dict:
    from boto3.dynamodb.types import TypeSerializer

    from chalicelib.analysis_store import to_dynamo_value

    return TypeSerializer().serialize(to_dynamo_value(value))


def main(argv: list[str] | None = None, client: Callable[[str], Any] | None = None) -> int:
    from infra.chalice_config import CHALICE_DIR
    from infra.resources import resource_specs
    from infra.settings import load_stage_settings

    parser = argparse.ArgumentParser(prog="python -m infra.backfill_archive", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--dry-run", action="store_true", help="say what would be written, write nothing")
    parser.add_argument("--chalice-dir", type=Path, default=CHALICE_DIR)
    args = parser.parse_args(argv)
    if client is None:
        import boto3

        client = boto3.session.Session().client
    sts = client("sts")
    account, region = sts.get_caller_identity()["Account"], sts.meta.region_name
    try:
        app_name = json.loads((args.chalice_dir / "config.json").read_text())["app_name"]
        stated = load_stage_settings(args.chalice_dir, args.stage)
        specs = resource_specs(app_name, args.stage, account, region, **stated)
    except (OSError, TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def report(kind: str, name: str, outcome: str) -> None:
        print(f"  {kind:<10} {name:<34} {outcome}")

    table, bucket = specs["table"]["name"], specs["environment"]["BUCKET_NAME"]
    print(f"archive backfill for stage {args.stage} (table {table}, bucket {bucket}):")
    counts = backfill(client("dynamodb"), client("s3"), table, bucket, report, args.dry_run)
    print("  " + ", ".join(f"{n} {outcome}" for outcome, n in counts.items()))
    return 1 if counts[MISSING] else 0


if __name__ == "__main__":
    sys.exit(main())
