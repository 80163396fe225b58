"""Who may do what: each function's least-privilege IAM policy and the app key's policy.

`function_policies` takes the ARNs of the stage's resources, either as literals
(`literal_arns`, for the policy files `chalice deploy` uses) or as Terraform expressions
(`infra.terraform_resources.terraform_references`), so both deploy paths grant the same.
"""

from __future__ import annotations

from typing import Any


def literal_arns(
    specs: dict[str, Any], account: str = "*", region: str = "*", partition: str = "aws"
) -> dict[str, Any]:
    """The ARNs of `specs`' resources as literals (account/region may be `*`), for the policy files
    `chalice deploy` uses; the same keys as `terraform_references`, plus log groups."""
    table_arn = f"arn:{partition}:dynamodb:{region}:{account}:table/{specs['table']['name']}"
    sender = specs["email_identity"]["email"]
    # Until the bootstrap has named the bucket (its default name carries the account and region),
    # the stage's buckets by their prefix.
    bucket = specs["bucket"]["name"] or f"{specs['prefix']}-data-*"
    return {
        "bucket_arn": f"arn:{partition}:s3:::{bucket}",
        "table_arn": table_arn,
        "index_arns": [f"{table_arn}/index/{index['name']}" for index in specs["table"].get("indexes") or []],
        "stream_arn": f"{table_arn}/stream/*",
        "event_bus_arn": f"arn:{partition}:events:{region}:{account}:event-bus/{specs['event_bus']}",
        # Every identity of the account and region SES may check for a send (`send_identities`).
        "ses_identities_arn": f"arn:{partition}:ses:{region}:{account}:identity/*",
        "sender_email": sender,
        "dlq_arns": {
            fn: f"arn:{partition}:sqs:{region}:{account}:{queue['name']}"
            for fn, queue in specs["dead_letter_queues"].items()
        },
        # The key's id is only known once it exists: any key, as long as it carries the app's alias.
        "kms_key_arn": f"arn:{partition}:kms:{region}:{account}:key/*",
        "kms_key_condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": specs["kms_key"]["alias"]}},
        "log_group_arns": {
            fn: f"arn:{partition}:logs:{region}:{account}:log-group:{group['name']}"
            for fn, group in specs["log_groups"].items()
        },
        "bedrock_model_arns": bedrock_model_arns(specs["settings"]["bedrock_model_id"], partition, region, account),
        "fetch": fetch_arns(specs, partition, region, account, f"ssm.{region}.amazonaws.com"),
        "archive_link_key": link_key_arns(specs, partition, region, account),
    }


def link_key_arns(specs: dict[str, Any], partition: str, region: str, account: str) -> dict | None:
    """The archive link key's SecureString, which notify (signing) and the API handler (checking)
    read (None unless api_auth=link). It is encrypted with the app's key, which both may decrypt
    with already (AppKey)."""
    link = specs.get("archive_link_key")
    if not link:
        return None
    return {"parameter_arn": f"arn:{partition}:ssm:{region}:{account}:parameter/{link['parameter'].lstrip('/')}"}


def fetch_arns(specs: dict[str, Any], partition: str, region: str, account: str, ssm_service: str) -> dict | None:
    """What the fetch function reads and writes (None when no fetch is configured)."""
    fetch = specs.get("fetch")
    if not fetch:
        return None
    symbols_read = None
    source = fetch["symbols"]
    if source.startswith("s3://"):
        symbols_read = (["s3:GetObject"], f"arn:{partition}:s3:::{source[len('s3://') :]}")
    elif source.startswith("ssm:"):
        name = source[len("ssm:") :].lstrip("/")
        symbols_read = (["ssm:GetParameter"], f"arn:{partition}:ssm:{region}:{account}:parameter/{name}")
    return {
        "api_key_parameter_arn": (
            f"arn:{partition}:ssm:{region}:{account}:parameter/{fetch['api_key_parameter'].lstrip('/')}"
        ),
        "kms_key_arn": f"arn:{partition}:kms:{region}:{account}:key/*",
        "kms_via_ssm_condition": {"StringLike": {"kms:ViaService": ssm_service}},
        "write_prefix": fetch["write_prefix"],
        "symbols_read": symbols_read,
    }


# A cross-region (system-defined) inference profile's id is its geography, a dot, and the model id;
# Bedrock routes a call on it to the model in one of the geography's destination regions, and IAM
# checks the caller may invoke both the profile (in the calling region) and the foundation model in
# the destination region. The region patterns cover each geography's destination regions; `global.`
# routes to every commercial region. Read on 2026-12-04: Amazon Bedrock User Guide, "Prerequisites
# for inference profiles" (inference-profiles-prereq.html) and "Supported Regions and models for
# inference profiles" (inference-profiles-support.html).
BEDROCK_PROFILE_REGIONS = {
    "us": "us-*",
    "us-gov": "us-gov-*",
    "eu": "eu-*",
    "apac": "ap-*",
    "jp": "ap-northeast-*",
    "au": "ap-southeast-*",
    "ca": "ca-*",
    "global": "*",
}


def bedrock_model_parts(model_id: str) -> tuple[str, str]:
    """(the profile's geography or "", the foundation model id) of a model or inference profile id."""
    geography, dot, rest = model_id.partition(".")
    if dot and geography in BEDROCK_PROFILE_REGIONS:
        return geography, rest
    return "", model_id


def bedrock_model_arns(model_id: str, partition: str, region: str, account: str) -> list[str]:
    """What analyze may invoke: the configured model, in the regions its profile routes to (the
    calling region when it is a foundation model), and the profile itself. For a foundation model
    the profile ARN names none (profile ids carry a geography), so it grants nothing more."""
    geography, model = bedrock_model_parts(model_id)
    regions = BEDROCK_PROFILE_REGIONS.get(geography, region)
    return [
        f"arn:{partition}:bedrock:{regions}::foundation-model/{model}",
        f"arn:{partition}:bedrock:{region}:{account}:inference-profile/{model_id}",
    ]


# SES authorizes a send against every identity the call uses: the sender's (its address or its
# domain, whichever is verified) and, while the account is in the SES sandbox, each recipient's too,
# since there every recipient must itself be a verified identity of the account (an unauthorized one
# answers AccessDenied "… is not authorized to perform `ses:SendRawEmail' on resource
# `arn:aws:ses:<region>:<account>:identity/<recipient>'"). So notify may use any identity of the
# account and region, but only to send From the configured sender (`ses:FromAddress`): right in the
# sandbox and with production access alike, and unchanged when a domain is verified instead of the
# address. Read on 2026-12-04: SES Developer Guide, "Identity and access management in Amazon SES"
# (control-user-access.html: condition keys ses:FromAddress/ses:Recipients; "if your account is in the
# SES sandbox, its restrictions will prevent the implementation of some of these policies"), SES API
# Reference, SendRawEmail (sandbox: send only to verified addresses), and aws/aws-sdk-js#3641 (the
# AccessDenied on a sandbox recipient's identity ARN).


def function_policies(arns: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One IAM policy document per function: only the actions its code calls, on what it touches.

    `arns` is `literal_arns(...)` or `terraform_references(...)`. A `*` resource appears only where
    AWS has no resource-level permission for the action; the statement's Sid says so.
    """
    bucket = arns["bucket_arn"]

    def allow(sid: str, actions: list[str], resource: Any, condition: dict | None = None) -> dict[str, Any]:
        statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource}
        if condition:
            statement["Condition"] = condition
        return statement

    own = {
        "ingest": [
            allow("ReadInputsAndMarkers", ["s3:GetObject"], [f"{bucket}/inputs/*", f"{bucket}/processed/hashes/*"]),
            allow(
                "WriteOutputsMarkersAndQuarantine",
                ["s3:PutObject"],
                [f"{bucket}/processed/*", f"{bucket}/rejects/*", f"{bucket}/quarantine/*"],
            ),
            # Outputs are written in parts (multipart uploads); an invocation that fails drops its
            # unfinished upload. PutObject covers creating, uploading and completing one; aborting
            # takes its own action: https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuAndPermissions.html
            # (read 2026-12-05).
            allow(
                "AbortUnfinishedOutputs",
                ["s3:AbortMultipartUpload"],
                [f"{bucket}/processed/bars/*", f"{bucket}/rejects/*"],
            ),
            allow("ReleaseMarkers", ["s3:DeleteObject"], f"{bucket}/processed/hashes/*"),
            # Without ListBucket a missing marker reads as 403 instead of 404.
            allow("MissingKeysReadAsNotFound", ["s3:ListBucket"], bucket),
            allow("PublishIngestorCompleted", ["events:PutEvents"], arns["event_bus_arn"]),
            # A quarantined file's failure notice, an item notify emails (conditional put: once).
            allow("StoreFailureNotices", ["dynamodb:PutItem"], arns["table_arn"]),
        ],
        "analyze": [
            allow("ReadProcessedAndRejects", ["s3:GetObject"], [f"{bucket}/processed/bars/*", f"{bucket}/rejects/*"]),
            allow("WriteFullAnalyses", ["s3:PutObject"], f"{bucket}/analyses/*"),
            # BatchWriteItem: the per-symbol readings and directory entries (chalicelib.readings).
            allow(
                "StoreAnalyses", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem"], arns["table_arn"]
            ),
            allow("Insights", ["bedrock:InvokeModel"], list(arns["bedrock_model_arns"])),
        ],
        "notify": [
            allow("ReadFullAnalyses", ["s3:GetObject"], f"{bucket}/analyses/*"),
            # A big file's report as one page for the archive (chalicelib.notify.service._keep_page).
            allow("KeepReportPages", ["s3:PutObject"], f"{bucket}/analyses/*.html"),
            allow("EmailMarkers", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], arns["table_arn"]),
            allow(
                "ReadAnalysesStream",
                ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                arns["stream_arn"],
            ),
            allow("ListStreamsHasNoResourceLevelPermission", ["dynamodb:ListStreams"], "*"),
            allow(
                "SendReportFromTheSenderOnly",
                ["ses:SendRawEmail"],
                arns["ses_identities_arn"],
                {"StringEquals": {"ses:FromAddress": arns["sender_email"]}},
            ),
        ],
    }
    # The report archive's API (chalicelib.api): reads only, and never a Scan.
    own["api_handler"] = [
        allow(
            "ReadAnalysesAndLatestIndex",
            ["dynamodb:GetItem", "dynamodb:Query"],
            [arns["table_arn"], *arns["index_arns"]],
        ),
        allow("ReadFullAnalyses", ["s3:GetObject"], f"{bucket}/analyses/*"),
    ]
    link = arns.get("archive_link_key")
    if link:  # api_auth=link: notify signs the email's archive links, the API handler checks them
        for fn in ("notify", "api_handler"):
            own[fn].append(allow("ReadArchiveLinkKey", ["ssm:GetParameter"], link["parameter_arn"]))
    fetch = arns.get("fetch")
    if fetch:
        own["fetch"] = [
            allow("ReadTwelveDataKey", ["ssm:GetParameter"], fetch["api_key_parameter_arn"]),
            # The SecureString's key (AWS's aws/ssm or another): only when SSM asks, for SSM.
            allow("DecryptKeyThroughSsmOnly", ["kms:Decrypt"], fetch["kms_key_arn"], fetch["kms_via_ssm_condition"]),
            allow("WriteScheduledInputs", ["s3:PutObject"], f"{bucket}/{fetch['write_prefix']}*"),
            # A run that cannot fetch at all (no API key) stores a failure notice for notify to send.
            allow("StoreFailureNotices", ["dynamodb:PutItem"], arns["table_arn"]),
            *([allow("ReadSymbolList", *fetch["symbols_read"])] if fetch.get("symbols_read") else []),
        ]
    policies = {}
    for fn, statements in own.items():
        log_group = arns["log_group_arns"][fn]
        queue = arns["dlq_arns"].get(fn)  # none for the API handler: API Gateway calls it synchronously
        policies[fn] = {
            "Version": "2012-10-17",
            "Statement": [
                *statements,
                allow(
                    "OwnLogs",
                    ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    [log_group, f"{log_group}:*"],
                ),
                # Failed asynchronous invocations (and, for notify, the stream's gave-up batches).
                *([allow("OwnDeadLetterQueue", ["sqs:SendMessage"], queue)] if queue else []),
                # Environment variables, the table and the queues are encrypted with the app's key;
                # the API handler only reads.
                allow(
                    "AppKey",
                    ["kms:Decrypt"] if fn == "api_handler" else ["kms:Decrypt", "kms:GenerateDataKey"],
                    arns["kms_key_arn"],
                    arns.get("kms_key_condition"),
                ),
                allow("XRayHasNoResourceLevelPermission", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
            ],
        }
    return policies


def key_policy(service_principals: list[str], account_root_arn: str) -> dict[str, Any]:
    """The app key's policy: the account's IAM decides who uses it; the listed services may too."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            # Key administration and use through IAM policies in this account (the role's AppKey).
            {
                "Sid": "AccountIam",
                "Effect": "Allow",
                "Principal": {"AWS": account_root_arn},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "Services",
                "Effect": "Allow",
                "Principal": {"Service": sorted(service_principals)},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            },
        ],
    }
