"""Where the embedded account (moto) tells the pipeline something S3 would not, and the fix.

Applied while an `EmbeddedAWS` is open, undone when it closes; none of it reaches the deployed app.

- A multipart upload (the AWS CLI's `s3 cp` of a file over 8 MiB) completes with one
  `ObjectCreated:CompleteMultipartUpload` notification on S3. moto 5.2 stores the assembled object
  with its ordinary `put_object`, which notifies `ObjectCreated:Put` too, so ingest saw the same
  upload twice (the second one a `duplicate`). While moto completes a multipart upload, its
  `put_object` notifies nothing; the completion's own notification remains.
  (Amazon S3 User Guide, "Event notification types and destinations" and "Enabling and
  configuring event notifications": an object is created by one of Put, Post, Copy or "Multipart
  upload completed", each its own `s3:ObjectCreated:*` event type; read 2026-12-05.)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def s3_notifications_as_on_aws() -> Iterator[None]:
    """One notification per multipart upload, for the duration of the block."""
    from unittest import mock

    from moto.s3.models import S3Backend

    complete, put_object = S3Backend.complete_multipart_upload, S3Backend.put_object
    completing = threading.local()

    def quiet_put(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(completing, "active", False):
            kwargs["disable_notification"] = True
        return put_object(self, *args, **kwargs)

    def complete_once(self: Any, *args: Any, **kwargs: Any) -> Any:
        completing.active = True
        try:
            return complete(self, *args, **kwargs)
        finally:
            completing.active = False

    with (
        mock.patch.object(S3Backend, "put_object", quiet_put),
        mock.patch.object(S3Backend, "complete_multipart_upload", complete_once),
    ):
        yield
