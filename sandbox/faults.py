"""Fault injection for the chaos suite: wrap the adapters at the edge, never the product code.

Every step a handler takes against AWS goes through one of a few adapters (`ObjectStore`,
`EventPublisher`, `AnalysisStore`, `EmailMarkers`, the SES client). `FaultInjector` wraps their
methods, names each call after the step it is (`ingest.put_processed`, `notify.send`, ...), and
can make one of them fail *before* the call reaches AWS or *after* AWS has done it:

- `death`: a `SimulatedDeath` (a BaseException, so it skips every `except Exception`, as an out of
  memory kill or a timeout skips the handler's clean-up);
- `error`: before the call, an AWS error response (nothing happened); after it, a read timeout
  (AWS did it, the answer was lost).

It also gives the handlers a simulated clock (leases are judged on it, so Lambda's retry delays
can pass in no time) and makes each embedded AWS request atomic, as the real services are, so
threads delivering concurrently see only the interleavings real AWS allows.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

DEATH, ERROR = "death", "error"
BEFORE, AFTER = "before", "after"


class SimulatedDeath(BaseException):  # noqa: N818 - it is not an error the code may handle
    """The process died here (out of memory, timeout): no `except Exception` sees it."""


@dataclass(frozen=True)
class Fault:
    step: str  # e.g. "ingest.publish"
    when: str = BEFORE  # BEFORE or AFTER the call reaches AWS
    kind: str = DEATH  # DEATH or ERROR
    occurrence: int = 1  # the n-th call of that step fails, once

    @property
    def label(self) -> str:
        nth = f"#{self.occurrence}" if self.occurrence != 1 else ""
        return f"{self.kind} {self.when} {self.step}{nth}"


def _s3_step(method: str, key: str) -> str:
    """Name an S3 call after what the key is."""
    kinds = (
        ("processed/hashes/", "marker"),
        ("processed/bars/", "processed"),
        ("rejects/", "rejects"),
        ("quarantine/", "quarantine"),
        ("analyses/", "record"),
        ("inputs/", "input"),
    )
    kind = next((name for prefix, name in kinds if key.startswith(prefix)), "other")
    table = {
        ("get", "input"): "ingest.get_input",
        ("get", "marker"): "ingest.read_marker",
        ("get", "processed"): "analyze.get_processed",
        ("get", "rejects"): "analyze.get_rejects",
        ("get", "record"): "notify.get_record",
        ("put", "processed"): "ingest.put_processed",
        ("put", "rejects"): "ingest.put_rejects",
        ("put", "marker"): "ingest.finish_marker",
        ("put", "quarantine"): "ingest.quarantine_error_json",
        ("put", "record"): "analyze.put_record_s3",
        ("put_if_absent", "marker"): "ingest.claim_marker",
        ("replace_if_match", "marker"): "ingest.takeover_marker",
        ("delete", "marker"): "ingest.release_marker",
        ("copy", "input"): "ingest.quarantine_copy",
        ("head_size", "input"): "ingest.head_input",
    }
    return table.get((method, kind), f"s3.{method}.{kind}")


@dataclass
class FaultInjector:
    """Install with `with injector.installed(env):`; no faults is a clean (probe) run."""

    faults: tuple[Fault, ...] = ()
    offset_s: float = 0.0  # the simulated clock: real time plus this
    calls: list[str] = field(default_factory=list)  # every step, in order (a probe run lists them)
    fired: list[str] = field(default_factory=list)
    _seen: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.time() + self.offset_s

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.offset_s += seconds

    def step(self, name: str, call: Callable[[], Any]) -> Any:
        with self._lock:
            self.calls.append(name)
            self._seen[name] = self._seen.get(name, 0) + 1
            hit = next((f for f in self.faults if f.step == name and f.occurrence == self._seen[name]), None)
        if hit and hit.when == BEFORE:
            self._fail(hit, before=True)
        result = call()
        if hit and hit.when == AFTER:
            self._fail(hit, before=False)
        return result

    def _fail(self, fault: Fault, before: bool) -> None:
        name = fault.step
        self.fired.append(fault.label)
        if fault.kind == DEATH:
            raise SimulatedDeath(f"process died {'before' if before else 'after'} {name}")
        if before:
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "ServiceUnavailable", "Message": f"injected before {name}"}}, name.split(".")[-1]
            )
        from botocore.exceptions import ReadTimeoutError

        raise ReadTimeoutError(endpoint_url=f"https://injected-after-{name}")

    # -- installation ------------------------------------------------------------------------
    @contextlib.contextmanager
    def installed(self, env: Any) -> Iterator[FaultInjector]:
        from unittest import mock

        from chalicelib import aws, storage
        from chalicelib.analysis_store import AnalysisStore
        from chalicelib.events import EventPublisher
        from chalicelib.ingest import service as ingest_service
        from chalicelib.notify import markers as notify_markers
        from chalicelib.notify import service as notify_service

        patches = []
        for method in ("get", "put", "put_if_absent", "replace_if_match", "delete", "copy", "head_size"):
            real = getattr(storage.ObjectStore, method)
            patches.append(mock.patch.object(storage.ObjectStore, method, self._s3_wrapper(method, real)))
        # An object written in parts (storage.PartWriter) appears when it is closed: that is its put.
        patches.append(
            mock.patch.object(storage.PartWriter, "close", self._part_writer_close(storage.PartWriter.close))
        )
        patches.append(self._patch_method(EventPublisher, "publish", "ingest.publish"))
        patches.append(self._patch_method(AnalysisStore, "exists", "analyze.exists"))
        patches.append(self._patch_method(AnalysisStore, "save", "analyze.save"))
        for method in ("claim", "mark_sending", "mark_sent", "mark_unknown", "release", "mark_failed"):
            if hasattr(notify_markers.EmailMarkers, method):
                patches.append(self._patch_method(notify_markers.EmailMarkers, method, f"notify.{method}"))
        # The handlers judge leases on the simulated clock.
        patches.append(mock.patch.object(ingest_service, "time", _SimulatedTime(self.now)))
        real_markers = notify_markers.EmailMarkers
        patches.append(
            mock.patch.object(
                notify_service, "EmailMarkers", lambda ddb, table: real_markers(ddb, table, clock=self.now)
            )
        )
        ses = aws.client("ses")
        patches.append(
            mock.patch.object(ses, "send_raw_email", functools.partial(self._ses_send, ses.send_raw_email), create=True)
        )
        patches.append(_atomic_aws_requests())
        with contextlib.ExitStack() as stack:
            for patch in patches:
                stack.enter_context(patch)
            yield self

    def _s3_wrapper(self, method: str, real: Callable) -> Callable:
        injector = self

        @functools.wraps(real)
        def wrapper(store: Any, key: str, *args: Any, **kwargs: Any) -> Any:
            keys = [key] + [a for a in args[:1] if method == "copy"]  # copy(source, dest)
            return injector.step(_s3_step(method, key), lambda: _s3_call(real, keys, store, key, *args, **kwargs))

        return wrapper

    def _part_writer_close(self, real: Callable) -> Callable:
        injector = self

        @functools.wraps(real)
        def wrapper(writer: Any) -> Any:
            return injector.step(_s3_step("put", writer.key), lambda: _s3_call(real, [writer.key], writer))

        return wrapper

    def _patch_method(self, cls: type, method: str, step: str) -> Any:
        from unittest import mock

        real = getattr(cls, method)
        injector = self

        @functools.wraps(real)
        def wrapper(obj: Any, *args: Any, **kwargs: Any) -> Any:
            return injector.step(step, lambda: real(obj, *args, **kwargs))

        return mock.patch.object(cls, method, wrapper)

    def _ses_send(self, real: Callable, **kwargs: Any) -> Any:
        return self.step("notify.send", lambda: real(**kwargs))


S3_MAX_KEY_BYTES = 1024


def _s3_call(real: Callable, keys: list[str], *args: Any, **kwargs: Any) -> Any:
    """The call, refused as S3 refuses a key over 1,024 bytes (moto does not check)."""
    for key in keys:
        if len(key.encode()) > S3_MAX_KEY_BYTES:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "KeyTooLongError", "Message": "Your key is too long"}}, "S3")
    return real(*args, **kwargs)


class _SimulatedTime:
    """The `time` module as `chalicelib.ingest.service` sees it, with `time()` on the simulated clock."""

    def __init__(self, now: Callable[[], float]):
        self._now = now

    def time(self) -> float:
        return self._now()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


_AWS_LOCK = threading.RLock()


def _atomic_aws_requests() -> Any:
    """Serialise moto's request handling: each AWS request is atomic, as on the real services
    (moto's in-process backends are not thread-safe, e.g. for conditional writes)."""
    from unittest import mock

    from moto.core.botocore_stubber import BotocoreStubber

    real = BotocoreStubber.__call__

    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _AWS_LOCK:
            return real(self, *args, **kwargs)

    return mock.patch.object(BotocoreStubber, "__call__", locked)
