"""The sandbox's fixes for moto's slow handling of big objects, and the buffer stream they rely on."""

from __future__ import annotations

import hashlib
import io

from botocore.auth import S3SigV4Auth
from moto.core.botocore_stubber import BotocoreStubber
from moto.s3.models import FakeKey

from chalicelib.storage import BufferBody
from sandbox.embedded import BUCKET, EmbeddedAWS


def test_a_buffer_stream_reads_whole_or_in_parts_with_one_copy_each():
    body = BufferBody(bytearray(b"0123456789"))

    assert body.read(3) == b"012" and body.tell() == 3
    assert body.read() == b"3456789" and body.read() == b"" and body.read(5) == b""
    body.seek(-4, io.SEEK_END)
    assert body.readall() == b"6789"
    body.seek(0)
    target = bytearray(4)
    assert body.readinto(target) == 4 and target == b"0123" and body.read(None) == b"456789"


def test_the_fixes_hold_inside_the_embedded_account_and_are_undone_after_it():
    from moto.core import utils as moto_utils

    signed, stubbed = S3SigV4Auth._should_sha256_sign_payload, BotocoreStubber.process_request
    stores, loads = FakeKey.value.fset, moto_utils._load_service_model
    seen = []

    with EmbeddedAWS() as env:
        # moto reads service models through the app's own loader: one list of services, one parse each.
        shared = env.client("s3")._loader
        assert moto_utils._load_service_model("sqs", "service-2") is shared.load_service_model("sqs", "service-2")
        s3 = env.client("s3")
        s3.meta.events.register("before-send.s3.PutObject", lambda request, **_: seen.append(dict(request.headers)))
        big = bytes(range(256)) * 8192  # 2 MiB: its MD5 is taken while moto stores it
        put = s3.put_object(Bucket=BUCKET, Key="processed/big.jsonl", Body=BufferBody(bytearray(big)))
        stored = s3.get_object(Bucket=BUCKET, Key="processed/big.jsonl")
        assert S3SigV4Auth._should_sha256_sign_payload is not signed

    assert stored["Body"].read() == big  # read whole, stored whole
    assert put["ETag"] == stored["ETag"] == f'"{hashlib.md5(big).hexdigest()}"'  # S3's ETag, as moto gives it
    assert seen[0]["X-Amz-Content-SHA256"] == b"UNSIGNED-PAYLOAD"
    assert S3SigV4Auth._should_sha256_sign_payload is signed and BotocoreStubber.process_request is stubbed
    assert FakeKey.value.fset is stores and moto_utils._load_service_model is loads


def test_a_multipart_upload_notifies_once_as_on_s3():
    """moto notifies ObjectCreated:Put and ObjectCreated:CompleteMultipartUpload for one multipart
    upload; S3 sends only the second, and the sandbox delivers only that one."""
    with EmbeddedAWS() as env:
        s3 = env.client("s3")
        key = "inputs/AAPL_1day.csv"
        upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        body = b"datetime,open,high,low,close,volume\n" + b"2024-01-02,1,2,0.5,1.5,10\n" * (5 * 2**20 // 26 + 1)
        parts = [
            {
                "PartNumber": n,
                "ETag": s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=n, Body=chunk)["ETag"],
            }
            for n, chunk in ((1, body), (2, b"2024-01-03,1,2,0.5,1.5,10\n"))
        ]
        s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})
        ingests = [d for d in env.run_until_idle() if d.handler == "ingest"]
    [delivery] = ingests
    [record] = delivery.event["Records"]
    assert record["eventName"] == "ObjectCreated:CompleteMultipartUpload"
    assert [f["status"] for f in delivery.result["files"]] == ["processed"]


def test_completing_a_multipart_upload_gives_what_moto_gives():
    """Fix 6 joins the parts once; the object and its ETag are moto's own."""
    from moto.s3.models import FakeMultipart, s3_backends

    from sandbox.embedded import ACCOUNT

    with EmbeddedAWS() as env:
        s3 = env.client("s3")
        upload = s3.create_multipart_upload(Bucket=BUCKET, Key="processed/parts.jsonl")["UploadId"]
        chunks = [bytes([n]) * (5 * 2**20) for n in (1, 2)] + [b"tail"]
        etags = [
            s3.upload_part(Bucket=BUCKET, Key="processed/parts.jsonl", UploadId=upload, PartNumber=n, Body=chunk)[
                "ETag"
            ]
            for n, chunk in enumerate(chunks, 1)
        ]
        multipart = s3_backends[ACCOUNT]["aws"].buckets[BUCKET].multiparts[upload]
        body = list(enumerate(etags, 1))
        ours = FakeMultipart.complete(multipart, iter(body))
        theirs = FakeMultipart.complete.__wrapped__(multipart, iter(body))
    assert ours[:2] == theirs[:2] and ours[0] == b"".join(chunks) and ours[1].endswith("-3")
    assert ours[2] is None  # no stand-in checksum for an upload that asked for none
