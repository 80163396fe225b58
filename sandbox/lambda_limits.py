"""Lambda's memory and time limits, enforced on each delivery the embedded account makes.

Lambda ends an invocation that passes its function's memory size (the runtime is killed:
`Runtime.OutOfMemory`) or its timeout (`Task timed out after N seconds`); the event is retried and
then dead-lettered like any failure. Without this the sandbox reported success for files that
could never finish in AWS. Here each handler call is watched by a thread that samples, every few
milliseconds, the time since the call began and the process's peak RSS since it began; past
either limit it raises `LambdaLimitExceeded` in the handler's thread, which the embedded account
records as a failed attempt.

What counts as the invocation's memory: the growth of the process's peak RSS (`VmHWM`, reset when
the call begins), less what moto stored in S3 meanwhile (in AWS that is S3's memory, not the
function's), plus `RUNTIME_BASELINE_MB` for the interpreter and the app's imports, which the
sandbox process holds already. Peaks inside the emulator's own handling of a request are left out
(`emulator_excluded`): moto joining an upload's parts held three copies of a 470 MiB object at
once, S3's work that no function pays for. Memory the process freed in an earlier delivery and still holds
is reused without growing the peak, so a long sandbox run can count less than was allocated (a
warm Lambda container keeps such memory too, and Lambda counts it). When deliveries run at once (the concurrent-copies mode), one
process holds them all: only time is enforced then.

Python delivers the exception between bytecodes: a handler inside one long C call (one huge
`orjson.loads`) is stopped when that call returns. Lambda's own accounting is of the whole
process; these are estimates of it, close for the memory a handler allocates itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# `import app` and a first client of each service in a fresh Python 3.13 process: 68 MiB RSS.
RUNTIME_BASELINE_MB = 70
_POLL_S = 0.005
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_KIB = re.compile(rb"(VmHWM|VmRSS):\s+(\d+) kB")

_active_lock = threading.Lock()
_active = 0


class LambdaLimitExceeded(BaseException):
    """The invocation passed its function's memory or timeout; Lambda ends it (no `except
    Exception` in the handler runs, as when the runtime is killed)."""


def _memory_kib() -> tuple[int, int] | None:
    """(peak RSS, RSS) of this process in KiB, or None where /proc is not there."""
    try:
        found = dict(_KIB.findall(_STATUS.read_bytes()))
    except OSError:
        return None
    return int(found[b"VmHWM"]), int(found[b"VmRSS"])


def _reset_peak() -> bool:
    """Set the peak RSS back to the current RSS (Linux: `5` to clear_refs); False if not possible."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


_current = threading.local()  # the invocation running in this thread, if any


@contextlib.contextmanager
def emulator_excluded() -> Iterator[None]:
    """While open, what moto does inside a request is not counted as the calling handler's memory.

    The invocation's peak so far is taken before the request; after it, the peak is reset to the
    RSS then (which holds what the request returned to the handler, and what S3 now stores, which
    is subtracted as ever)."""
    from moto.core.botocore_stubber import BotocoreStubber

    real = BotocoreStubber.__call__

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        invocation = getattr(_current, "invocation", None)
        if invocation is None:
            return real(self, *args, **kwargs)
        invocation.pause()
        try:
            return real(self, *args, **kwargs)
        finally:
            invocation.resume()

    BotocoreStubber.__call__ = call
    try:
        yield
    finally:
        BotocoreStubber.__call__ = real


def _async_raise(thread_id: int, exception: type[BaseException] | None) -> None:
    """Raise `exception` in another thread at its next bytecode (None: drop one not yet raised)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception is not None else None
    )


class Invocation:
    """One handler call under its function's limits: `with Invocation(...): handler(event, context)`.

    `stored_bytes` gives what the embedded S3 holds, so objects the handler writes are not
    counted as its memory. After the call, `peak_mb` and `elapsed_s` say what it used.
    """

    def __init__(self, function: str, memory_mb: int, timeout_s: float, stored_bytes: Callable[[], int] | None = None):
        self.function, self.memory_mb, self.timeout_s = function, memory_mb, timeout_s
        self._stored = stored_bytes or (lambda: 0)
        self.failure: str | None = None
        self.peak_mb = 0.0
        self.elapsed_s = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._armed = True
        self._watcher: threading.Thread | None = None

    def __enter__(self) -> Invocation:
        global _active
        with _active_lock:
            _active += 1
            self._alone = _active == 1
        self._measure_memory = self._alone and _reset_peak() and _memory_kib() is not None
        self._start_rss = _memory_kib()[1] if self._measure_memory else 0
        self._start_stored = self._stored() if self._measure_memory else 0
        self._target = threading.get_ident()
        self._paused = 0
        _current.invocation = self
        self._started = time.monotonic()
        self._watcher = threading.Thread(target=self._watch, name=f"lambda-limits-{self.function}", daemon=True)
        self._watcher.start()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        global _active
        try:
            with self._lock:
                self._armed = False  # the watcher raises nothing more in this thread
            _async_raise(self._target, None)  # and one it raised but Python has not delivered yet is dropped
        except LambdaLimitExceeded:
            pass  # delivered here after all: nothing is pending now
        _current.invocation = None
        self._stop.set()
        self._watcher.join()
        self._check()  # a call that ended between two samples is judged too
        with _active_lock:
            _active -= 1
        if self.failure is not None:
            raise LambdaLimitExceeded(self.failure) from (exc if isinstance(exc, Exception) else None)
        return False

    def pause(self) -> None:
        """The handler is inside an emulator request: its peak so far is taken, then not sampled."""
        with self._lock:
            if self._check():  # in the handler's own thread: ended here
                raise LambdaLimitExceeded(self.failure)
            self._paused += 1

    def resume(self) -> None:
        with self._lock:
            self._paused -= 1
            if self._measure_memory and not self._paused and _active == 1:
                _reset_peak()  # what moto did inside the request is not the handler's peak

    def _watch(self) -> None:
        while not self._stop.wait(_POLL_S):
            with self._lock:
                if self._check():
                    if self._armed:  # raised in the handler's thread at its next bytecode
                        _async_raise(self._target, LambdaLimitExceeded)
                    return

    def _check(self) -> bool:
        """Whether a limit is passed (the first time: recorded in `failure`)."""
        if self.failure is not None:
            return False
        self.elapsed_s = time.monotonic() - self._started
        if self.elapsed_s > self.timeout_s:
            self.failure = f"Task timed out after {self.timeout_s:.2f} seconds ({self.function})"
            return True
        if self._measure_memory and _active > 1:
            self._measure_memory = False  # another delivery began meanwhile: its memory is not ours to count
        if self._measure_memory and not self._paused:
            peak_kib = _memory_kib()[0]
            stored = max(0, self._stored() - self._start_stored)
            self.peak_mb = max(self.peak_mb, RUNTIME_BASELINE_MB + (peak_kib - self._start_rss) / 1024 - stored / 2**20)
            if self.peak_mb > self.memory_mb:
                self.failure = (
                    f"Runtime.OutOfMemory: {self.function} used about {self.peak_mb:,.0f} MB,"
                    f" over its memory size of {self.memory_mb:,} MB"
                )
                return True
        return False


def moto_s3_bytes(account: str) -> int:
    """What the embedded S3 holds, objects and unfinished uploads' parts: memory that in AWS is S3's."""
    from moto.s3.models import s3_backends

    total = 0
    for _ in range(3):  # a handler may be changing the bucket meanwhile: try again
        try:
            total = 0
            for bucket in list(s3_backends[account]["aws"].buckets.values()):
                total += sum(key.size for key in list(bucket.keys.values()))
                for upload in list(bucket.multiparts.values()):
                    total += sum(part.size for part in list(upload.parts.values()))
            return total
        except RuntimeError:  # "changed size during iteration"
            continue
    return total
