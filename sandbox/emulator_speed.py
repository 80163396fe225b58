"""Where the embedded account (moto, in process) is slow on big objects, and what the sandbox does.

Each fix is local tooling: it is applied while an `EmbeddedAWS` is open and undone when it closes,
and none of it reaches the deployed app, whose clients talk HTTP to the real services.

1. Streamed request bodies are read 8 KiB at a time. moto hands a request to werkzeug, which
   reads a file-like body through a buffered reader in small pieces and joins them: about 0.5 s
   for a 150 MiB upload (ingest uploads its processed lines from a buffer without copying it).
   The sandbox reads such a body whole first, as one read of the buffer.
2. Request bodies are read again 64 KiB at a time. moto builds a werkzeug request around the
   body's bytes, whose `get_data()` reads them back through a stream in pieces it joins: 0.25 s
   per 150 MiB. The sandbox hands werkzeug the bytes it already has as the request's data.
3. An object's MD5 (its ETag) is computed after it is stored, by reading the stored copy back in
   16 MiB pieces. The sandbox hashes a big request body in a thread from the moment the request
   reaches moto, while moto parses it and stores the object (hashlib lets go of the GIL), and
   gives the digest to the object it becomes: the same ETag, about 0.2 s sooner per 150 MiB.
4. Upload bodies are hashed for the signature. Without the default aws-chunked checksum (turned
   off in the embedded account: see `embedded._SANDBOX_ENV`), botocore signs S3 payloads with
   SHA-256, which over HTTPS it would skip: about 0.25 s per 150 MiB, for a signature moto never
   checks. The sandbox signs them as `UNSIGNED-PAYLOAD`, as botocore does for real HTTPS uploads.
5. moto reads each service's model with a loader of its own, made anew for every model: each one
   first lists every service botocore knows (some 400 folders, 27,000 `stat` calls in a run) and
   then parses a JSON file the app's own clients have already parsed. The sandbox lends moto the
   loader of boto3's default session, so each model is found and parsed once.
6. Completing a multipart upload (ingest writes its processed lines in 8 MiB parts) copied the
   whole object six times: each part read out of its buffer, appended to the result, appended
   again for the checksum, both turned into bytes, then stored (1.2 s of CPU for a 150 MiB
   file). The sandbox joins views of the parts' buffers once: the object and its ETag are the
   same. It leaves out the full-object checksum moto adds when the upload asked for none, which
   without the optional `awscrt` package is a CRC32 standing in for S3's CRC64NVME anyway, and
   which nothing in the pipeline reads (its clients send checksums only when required): 0.17 s.
7. Storing an object copied it into an empty buffer, and reading it copied it out again (a
   `read()` of a buffer with room to spare copies): the 115 MiB input, the 150 MiB processed file
   and its parts, each way. The sandbox stores a big object as a buffer made over its bytes and
   reads the buffer's value, both of which CPython does without a copy (a later write to the
   object makes its own).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
from collections.abc import Iterator
from typing import Any

_HASH_APART = 1 << 20  # smaller objects are hashed the usual way


@contextlib.contextmanager
def fast_big_objects() -> Iterator[None]:
    """The seven fixes, for the duration of the block."""
    import boto3
    from botocore.auth import S3SigV4Auth
    from moto.core import botocore_stubber
    from moto.core import utils as moto_utils
    from moto.core.botocore_stubber import BotocoreStubber
    from moto.s3.models import FakeKey, FakeMultipart

    process_request = BotocoreStubber.process_request
    normalize_request = botocore_stubber.normalize_request
    should_sign = S3SigV4Auth._should_sha256_sign_payload
    stored_value = FakeKey.value
    store_value, read_value = stored_value.fset, stored_value.fget
    load_model = moto_utils._load_service_model
    complete = FakeMultipart.complete
    loader = boto3._get_default_session()._session.get_component("data_loader")

    def whole_body(self: Any, request: Any) -> Any:
        body = request.body
        if hasattr(body, "read"):  # a stream (a file, ingest's buffer): one read, not 8 KiB pieces
            start = body.tell() if hasattr(body, "tell") else None
            request.body = body.read()
            if start is not None:  # where botocore expects it, should it read the stream again
                body.seek(start)
        return process_request(self, request)

    hashes: dict[int, tuple[bytes, threading.Thread, list[str]]] = {}  # id(body) -> its MD5, under way

    def start_hashing(body: bytes) -> None:
        digest: list[str] = []
        hashing = threading.Thread(target=lambda: digest.append(hashlib.md5(body).hexdigest()))  # noqa: S324
        hashing.start()
        hashes[id(body)] = (body, hashing, digest)

    def with_data(request: Any) -> Any:
        normalized = normalize_request(request)
        body = getattr(request, "body", None)
        if isinstance(body, bytes):  # what werkzeug's get_data() would read back from its stream
            normalized._cached_data = body
            if len(body) >= _HASH_APART:  # hashed while moto parses the request and stores the body
                start_hashing(body)
        return normalized

    def kept(self: Any, value: Any) -> None:
        """Store a big bytes value by sharing it: a buffer made over bytes copies nothing until
        it is written to (fix 7), where moto's setter wrote a copy into an empty buffer."""
        spool = self._value_buffer
        in_memory = isinstance(getattr(spool, "_file", None), io.BytesIO) and not getattr(spool, "_rolled", True)
        if isinstance(value, bytes) and len(value) >= _HASH_APART and in_memory and len(value) <= spool._max_size:
            spool._file = io.BytesIO(value)
            self.contentsize = len(value)
        else:
            store_value(self, value)

    def hashed_while_stored(self: Any, value: Any) -> None:
        if getattr(self, "_etag", None) is not None or not isinstance(value, bytes) or len(value) < _HASH_APART:
            kept(self, value)
            return
        under_way = hashes.pop(id(value), None)
        if under_way is None or under_way[0] is not value:
            start_hashing(value)
            under_way = hashes.pop(id(value))
        _, hashing, digest = under_way
        try:
            kept(self, value)
        finally:
            hashing.join()
        self._etag = digest[0]

    BotocoreStubber.process_request = whole_body

    def whole_value(self: Any) -> bytes:
        buffer = getattr(self._value_buffer, "_file", None)
        if not isinstance(buffer, io.BytesIO):  # spooled to disk
            return read_value(self)
        with self.lock:
            return buffer.getvalue()

    FakeKey.value = property(whole_value, hashed_while_stored)
    botocore_stubber.normalize_request = with_data
    S3SigV4Auth._should_sha256_sign_payload = lambda self, request: False
    moto_utils._load_service_model = lambda service, model: loader.load_service_model(service, model)
    FakeMultipart.complete = _joined_once(complete)
    try:
        yield
    finally:
        for _, hashing, _ in hashes.values():  # bodies moto never stored (a refused request)
            hashing.join()
        hashes.clear()
        BotocoreStubber.process_request = process_request
        FakeKey.value = stored_value
        botocore_stubber.normalize_request = normalize_request
        S3SigV4Auth._should_sha256_sign_payload = should_sign
        moto_utils._load_service_model = load_model
        FakeMultipart.complete = complete


def _joined_once(complete: Any) -> Any:
    """moto's `FakeMultipart.complete` with one copy of the parts and no stand-in checksum (fix 6)
    for an upload that asked for none; one that asked for a checksum goes to moto's own code."""
    import codecs

    from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML
    from moto.s3.models import S3_UPLOAD_PART_MIN_SIZE
    from moto.utilities.utils import md5_hash

    decode_hex = codecs.getdecoder("hex_codec")

    def joined(self: Any, body: Any) -> Any:
        algorithm = self.metadata.get("x-amz-checksum-algorithm")
        if algorithm not in (None, "CRC64NVME") or self.metadata.get("x-amz-checksum-type") not in (
            None,
            "FULL_OBJECT",
        ):
            return complete(self, body)
        parts, md5s, last = [], bytearray(), None
        for number, etag in body:  # moto's checks, in moto's order
            part = self.parts.get(number)
            if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
                raise InvalidPart()
            if last is not None and last.contentsize < S3_UPLOAD_PART_MIN_SIZE:
                raise EntityTooSmall()
            md5s.extend(decode_hex(part.etag.replace('"', ""))[0])
            parts.append(part)
            last = part
        if not parts:
            raise MalformedXML
        views = [_view(part) for part in parts]
        try:
            total = b"".join(views)
        finally:
            for view in views:
                view.release()
        full_etag = md5_hash()
        full_etag.update(bytes(md5s))
        return total, f"{full_etag.hexdigest()}-{len(parts)}", None

    joined.__wrapped__ = complete  # moto's own, for the test that holds them equal
    return joined


def _view(key: Any) -> memoryview:
    """The bytes moto holds for `key`, without a copy when they are in memory."""
    buffer = getattr(getattr(key, "_value_buffer", None), "_file", None)
    # getvalue(), not getbuffer(): a buffer made over bytes (fix 7) hands them over as they are,
    # where a view of it would first copy them.
    return memoryview(buffer.getvalue() if isinstance(buffer, io.BytesIO) else key.value)
