"""AWS clients: created once, lazily, with an explicit retry policy."""

from __future__ import annotations

from chalicelib import aws


def test_clients_are_cached_and_retry_five_times(aws_env):
    s3 = aws.client("s3")
    assert aws.client("s3") is s3
    assert s3.meta.config.retries == {"total_max_attempts": 5, "mode": "standard"}
    assert s3.meta.config.read_timeout == 30 and s3.meta.config.connect_timeout == 5


def test_ses_is_tried_once_so_a_timed_out_send_is_never_repeated_by_the_sdk(aws_env):
    assert aws.client("ses").meta.config.retries["total_max_attempts"] == 1


def test_reset_forgets_clients(aws_env):
    first = aws.client("events")
    aws.reset_clients()
    assert aws.client("events") is not first
