"""Where each resource the deploy paths create is on the bill: its service's lines, or why it has none.

Two enumerations, one per deploy path: the Terraform resource types of the package
(`infra.tf.json` from `infra.terraform_resources`, `chalice.tf.json` from `chalice package`), and
the kinds the bootstrap reports as it creates resources (`infra.bootstrap`, before and after
`chalice deploy`, which creates what `chalice.tf.json` declares). tests/test_bill_coverage.py
holds both to these tables: a resource of a new type or kind fails it until it is priced here
and in `sandbox.bill`.
"""

from __future__ import annotations

# Free resources say why, starting with "free:".
TERRAFORM_TYPES: dict[str, str] = {
    "aws_lambda_function": "Lambda",
    "aws_lambda_permission": "free: a resource policy statement",
    "aws_lambda_event_source_mapping": "DynamoDB",  # the stream's reads: free for a Lambda trigger
    "aws_iam_role": "free: IAM has no charge",
    "aws_iam_role_policy": "free: IAM has no charge",
    "aws_iam_role_policy_attachment": "free: IAM has no charge",
    "aws_s3_bucket": "S3",
    "aws_s3_bucket_public_access_block": "free: a setting of the bucket",
    "aws_s3_bucket_ownership_controls": "free: a setting of the bucket",
    "aws_s3_bucket_server_side_encryption_configuration": "free: SSE-S3 has no charge",
    "aws_s3_bucket_versioning": "free: a setting of the bucket (versions are storage)",
    "aws_s3_bucket_lifecycle_configuration": "free: transitions and expiries of small counts",
    "aws_s3_bucket_notification": "free: S3 event notifications have no charge",
    "aws_dynamodb_table": "DynamoDB",
    "aws_sqs_queue": "SQS",
    "aws_sns_topic": "SNS",
    "aws_sns_topic_subscription": "SNS",
    "aws_kms_key": "KMS",
    "aws_kms_alias": "free: aliases have no charge",
    "aws_cloudwatch_log_group": "CloudWatch",
    "aws_cloudwatch_metric_alarm": "CloudWatch",
    "aws_cloudwatch_event_rule": "EventBridge",
    "aws_cloudwatch_event_target": "EventBridge",
    "aws_api_gateway_rest_api": "API Gateway",
    "aws_api_gateway_deployment": "API Gateway",
    "aws_api_gateway_stage": "API Gateway",
    "aws_api_gateway_api_key": "API Gateway",
    "aws_api_gateway_usage_plan": "API Gateway",
    "aws_api_gateway_usage_plan_key": "API Gateway",
    "aws_budgets_budget": "Budgets",
    # The archive link key: read by notify and the API handler at most every 5 minutes per warm
    # container (chalicelib.aws.secure_parameter), each read one aws/ssm decryption: a few thousand
    # a month, inside KMS's 20,000 free requests.
    "aws_ssm_parameter": "free: an SSM standard parameter",
}

# `infra.bootstrap`'s report kinds (the first column of its output).
BOOTSTRAP_KINDS: dict[str, str] = {
    "settings": "free: a file in the project",
    "chalice config": "free: a file in the project",
    "kms key": "KMS",
    "bucket": "S3",
    "s3 notification": "free: S3 event notifications have no charge",
    "table": "DynamoDB",
    "ses identity": "SES",
    "dead-letter queue": "SQS",
    "log group": "CloudWatch",
    "alarm topic": "SNS",
    "alarm e-mail": "SNS",
    "alarm": "CloudWatch",
    "api key parameter": "free: an SSM standard parameter",
    "link key parameter": "free: an SSM standard parameter (read as aws_ssm_parameter says)",
    "archive url": "free: a setting of the notify function",
    "iam role": "free: IAM has no charge",
    "budget": "Budgets",
    "dead-letter config": "SQS",
    "environment key": "KMS",
    "stream mapping": "DynamoDB",
}


def unpriced(found: set[str], table: dict[str, str], billed_services: set[str]) -> list[str]:
    """What in `found` has no entry in `table`, or names a service with no line on the bill."""
    missing = sorted(name for name in found if name not in table)
    missing += sorted(
        f"{name} -> {table[name]}"
        for name in found
        if name in table and not table[name].startswith("free:") and table[name] not in billed_services
    )
    return missing
