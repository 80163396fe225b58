"""S3 adapter: objects and the conditional-write markers that make ingest idempotent."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from chalicelib.aws import error_code

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
