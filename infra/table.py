"""The analyses table as DynamoDB's API takes it (`create_table`, `update_table`), from the
table's part of `infra.resources.resource_specs`: one definition for the bootstrap, the Terraform
package, the sandbox and the tests."""

from __future__ import annotations

from typing import Any


def table_attributes(specs_table: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, type) of every key attribute of the table and its indexes, each once."""
    found = {specs_table["hash_key"]: specs_table["hash_key_type"]}
    for index in specs_table.get("indexes") or []:
        found.setdefault(index["hash_key"], index["hash_key_type"])
        found.setdefault(index["range_key"], index["range_key_type"])
    return list(found.items())


def index_definition(index: dict[str, Any]) -> dict[str, Any]:
    """One global secondary index, as `create_table` and `update_table` take it (on-demand: no throughput)."""
    return {
        "IndexName": index["name"],
        "KeySchema": [
            {"AttributeName": index["hash_key"], "KeyType": "HASH"},
            {"AttributeName": index["range_key"], "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": index["projection"]},
    }


def table_definition(specs_table: dict[str, Any]) -> dict[str, Any]:
    """`create_table` arguments for the analyses table (key, billing, NEW_IMAGE stream, indexes)."""
    definition = {
        "TableName": specs_table["name"],
        "KeySchema": [{"AttributeName": specs_table["hash_key"], "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind} for name, kind in table_attributes(specs_table)
        ],
        "BillingMode": specs_table["billing_mode"],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": specs_table["stream_view_type"]},
    }
    if specs_table.get("indexes"):
        definition["GlobalSecondaryIndexes"] = [index_definition(i) for i in specs_table["indexes"]]
    return definition
