"""S3 adapter: objects and the conditional-write markers that make ingest idempotent."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from chalicelib.aws import error_code
from chalicelib.observability import logger

_CONDITION_FAILED = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}


def is_condition_failure(exc: Exception) -> bool:
    """True for S3's answer to a failed If-Match / If-None-Match (412, or 409 on a race)."""
    return error_code(exc) in _CONDITION_FAILED


def is_not_found(exc: Exception) -> bool:
    return error_code(exc) in _NOT_FOUND


def is_changed_or_gone(exc: Exception) -> bool:
    """The object is no longer the one named: its ETag changed, or it was deleted."""
    return is_condition_failure(exc) or is_not_found(exc)


class BufferBody(io.RawIOBase):
    """A bytearray as a seekable stream, read in place: an upload body without a copy of it."""

    def __init__(self, buffer: bytearray):
        self._view = memoryview(buffer)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        count = max(0, min(len(target), len(self._view) - self._pos))
        target[:count] = self._view[self._pos : self._pos + count]
        self._pos += count
        return count

    def read(self, size: int | None = -1) -> bytes:
        """One copy of what is asked for (RawIOBase's own `read()` gathers 8 KiB pieces)."""
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        chunk = bytes(self._view[self._pos : end]) if end > self._pos else b""
        self._pos = max(self._pos, end)
        return chunk

    def readall(self) -> bytes:
        return self.read()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


@dataclass
class StoredObject:
    body: bytes
    etag: str


class ObjectStore:
    """One bucket, through an injected boto3 S3 client."""

    def __init__(self, s3_client: Any, bucket: str):
        self._s3 = s3_client
        self.bucket = bucket

    def get(self, key: str, if_match: str | None = None) -> StoredObject:
        kwargs = {"IfMatch": _quoted(if_match)} if if_match else {}
        response = self._s3.get_object(Bucket=self.bucket, Key=key, **kwargs)
        return StoredObject(body=response["Body"].read(), etag=response["ETag"].strip('"'))

    def head_etag(self, key: str) -> str:
        return self._s3.head_object(Bucket=self.bucket, Key=key)["ETag"].strip('"')

    def head_size(self, key: str) -> int:
        return int(self._s3.head_object(Bucket=self.bucket, Key=key)["ContentLength"])

    def put(self, key: str, body: bytes | bytearray, content_type: str = "application/octet-stream") -> str:
        if isinstance(body, bytearray):  # botocore takes bytes or a stream; a copy would double the memory
            body = BufferBody(body)
        response = self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        return response["ETag"].strip('"')

    def writer(self, key: str, content_type: str = "application/octet-stream") -> PartWriter:
        """An object written as it grows (`writer += data`), in parts; `close()` finishes it."""
        return PartWriter(self, key, content_type)

    def put_json(self, key: str, document: Any) -> str:
        return self.put(key, orjson.dumps(document, option=orjson.OPT_INDENT_2), "application/json")

    def copy(self, source_key: str, dest_key: str, if_match: str | None = None) -> None:
        kwargs = {"CopySourceIfMatch": _quoted(if_match)} if if_match else {}
        self._s3.copy_object(
            Bucket=self.bucket, Key=dest_key, CopySource={"Bucket": self.bucket, "Key": source_key}, **kwargs
        )

    def put_if_absent(self, key: str, document: Any) -> str | None:
        """Create `key` only if nothing is there (S3 `If-None-Match: *`); None when it exists."""
        return self._put_json_if(key, document, is_condition_failure, IfNoneMatch="*")

    def replace_if_match(self, key: str, document: Any, etag: str) -> str | None:
        """Overwrite `key` only if it still has `etag` (S3 `If-Match`); None when it changed."""
        return self._put_json_if(key, document, is_changed_or_gone, IfMatch=_quoted(etag))

    def _put_json_if(self, key: str, document: Any, lost: Callable[[Exception], bool], **condition: str) -> str | None:
        """A conditional JSON put: the new ETag, or None when `lost(error)` says the condition failed."""
        try:
            response = self._s3.put_object(
                Bucket=self.bucket, Key=key, Body=orjson.dumps(document), ContentType="application/json", **condition
            )
        except Exception as exc:
            if lost(exc):
                return None
            raise
        return response["ETag"].strip('"')

    def read_json(self, key: str) -> tuple[Any, str] | None:
        """(document, etag) of a JSON object, or None if there is none."""
        try:
            stored = self.get(key)
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        return orjson.loads(stored.body), stored.etag

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=key)


def _quoted(etag: str) -> str:
    return etag if etag.startswith('"') else f'"{etag}"'


PART_BYTES = 8 * 1024 * 1024  # S3 takes parts of 5 MiB or more (the last one may be smaller)


class PartWriter:
    """An S3 object written while it is produced, so no more than a part of it is ever in memory.

    `writer += data` appends; each time the buffer holds `PART_BYTES` it goes up as one part of a
    multipart upload, started with the first part. `close()` completes the upload, or writes the
    whole object with one PutObject when it never reached a part's size (most files: one request,
    as before). `abort()` drops an unfinished upload, whose stored parts S3 would otherwise keep
    (and bill) until a lifecycle rule removes them. Readers see the object only once complete.
    The multipart calls: https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html
    (5 MiB to 5 GiB a part, at most 10,000 parts; read 2026-12-05).
    """

    def __init__(self, store: ObjectStore, key: str, content_type: str):
        self._store, self.key, self.content_type = store, key, content_type
        self._s3, self.bucket = store._s3, store.bucket
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict] = []
        self.size = 0

    def __iadd__(self, data: Any) -> PartWriter:
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= PART_BYTES:
            self._upload_part()
        return self

    def __len__(self) -> int:
        return self.size

    def _upload_part(self) -> None:
        if self._upload_id is None:
            self._upload_id = self._s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self.content_type
            )["UploadId"]
        number = len(self._parts) + 1
        response = self._s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=BufferBody(self._buffer)
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})
        self._buffer = bytearray()

    def close(self) -> None:
        """Finish the object: the last part and CompleteMultipartUpload, or one PutObject."""
        if self._upload_id is None:
            self._store.put(self.key, self._buffer, self.content_type)
        else:
            if self._buffer:
                self._upload_part()
            self._s3.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
            )
        self._buffer = bytearray()

    def abort(self) -> None:
        """Drop what was written; never raises (the lifecycle rule is the fallback)."""
        self._buffer = bytearray()
        if self._upload_id is not None:
            try:
                self._s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
            except Exception:  # best effort: the caller is failing already, with its own error
                logger.warning("could not abort a multipart upload", extra={"key": self.key}, exc_info=True)
            self._upload_id = None
