"""One HTTP GET for the fetch, bounded: one deadline for the whole exchange, a cap on the body,
and no redirect followed.

`http.client` rather than `urllib`: urllib follows redirects to any host, and from https to
http, re-sending every header given, the `Authorization: apikey …` one included. Here a 3xx is
an answer like any other (the caller reports it); nothing is sent anywhere but the URL given.
A socket timeout bounds each read, so a server dripping one byte a second would never trip it:
the socket's timeout is set to what is left of the deadline before every read instead.

Failures raise `NetworkError` with what happened in words ("connection refused", "host not
found", "timed out"), never dressed up as an HTTP status no server sent.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.parse

DEFAULT_MAX_BYTES = 16 << 20  # a 16 MiB body: 8 symbols x 5,000 bars is about 6 MiB
_PIECE = 1 << 16


class NetworkError(OSError):
    """No usable answer: `reason` says why in words ("connection refused", "timed out", …)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason, self.detail = reason, detail


class ResponseTooLarge(NetworkError):
    """The body is over the cap: not read further."""


def check_base_url(url: str) -> str:
    """`url` if it can be fetched from (http or https, a host, no query); else ValueError saying why."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{url!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError(f"{url!r} names no host")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{url!r} must be a plain base URL: no query, fragment or user name")
    if port == 0:
        raise ValueError(f"{url!r} names port 0")
    return url


class HttpTransport:
    """GET with the standard library's `http.client`: nothing to package, nothing followed."""

    def get(self, url: str, headers: dict[str, str], timeout_s: float, max_bytes: int = DEFAULT_MAX_BYTES):
        """(HTTP status, body) within `timeout_s` in all; raises `NetworkError`."""
        deadline = time.monotonic() + max(timeout_s, 0.001)
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname or "", parts.port
        where = f"{host}:{port or (443 if parts.scheme == 'https' else 80)}"
        if parts.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=timeout_s, context=ssl.create_default_context()
            )
        elif parts.scheme == "http":
            conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
        else:
            raise NetworkError("not an http(s) URL", parts.scheme)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", target, headers=headers)
            sock = conn.sock
            _time_left(sock, deadline, where)
            response = conn.getresponse()
            length = response.getheader("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise ResponseTooLarge("answer too large", f"{int(length):,} bytes, over the {max_bytes:,}-byte cap")
            body = bytearray()
            while not response.isclosed():  # closed (with its socket) once the whole body is in
                _time_left(sock, deadline, where)
                piece = response.read1(_PIECE)
                if not piece:
                    break
                body += piece
                if len(body) > max_bytes:
                    raise ResponseTooLarge("answer too large", f"over the {max_bytes:,}-byte cap")
            return response.status, bytes(body)
        except NetworkError:
            raise
        except TimeoutError:
            raise NetworkError("timed out", f"{where} did not finish answering within {timeout_s:g} s") from None
        except socket.gaierror as exc:
            raise NetworkError("host not found", f"{host}: {exc.strerror or exc}") from None
        except ConnectionRefusedError:
            raise NetworkError("connection refused", where) from None
        except ConnectionResetError:
            raise NetworkError("connection reset", where) from None
        except ssl.SSLError as exc:
            raise NetworkError("TLS failed", f"{where}: {exc.reason or exc}") from None
        except http.client.HTTPException as exc:
            raise NetworkError("broken HTTP answer", f"{where}: {type(exc).__name__}") from None
        except OSError as exc:
            raise NetworkError(exc.strerror or type(exc).__name__, where) from None
        finally:
            conn.close()


def _time_left(sock: socket.socket | None, deadline: float, where: str) -> None:
    """Give the next read only what is left of the deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    if sock is not None:
        sock.settimeout(left)
