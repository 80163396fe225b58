"""EventBridge adapter: publish one event, and treat a failed entry as the error it is."""

from __future__ import annotations

from typing import Any

import orjson


class EventPublishError(RuntimeError):
    """EventBridge accepted the call but not the entry (`FailedEntryCount` > 0)."""


class EventPublisher:
    def __init__(self, events_client: Any, bus_name: str, source: str):
        self._events = events_client
        self._bus = bus_name
        self._source = source

    def publish(self, detail_type: str, detail: dict) -> str:
        """Put one event and return its id; raises `EventPublishError` if the entry failed."""
        response = self._events.put_events(
            Entries=[
                {
                    "Source": self._source,
                    "DetailType": detail_type,
                    "Detail": orjson.dumps(detail).decode(),
                    "EventBusName": self._bus,
                }
            ]
        )
        entry = (response.get("Entries") or [{}])[0]
        if response.get("FailedEntryCount") or "EventId" not in entry:
            raise EventPublishError(
                f"EventBridge refused {detail_type} on bus {self._bus}: "
                f"{entry.get('ErrorCode', 'unknown')} {entry.get('ErrorMessage', '')}".strip()
            )
        return entry["EventId"]
