"""Rasa's SQL tracker store, without the work it repeats on every turn.

`var/rasa/endpoints.yml` names this class as the tracker store (`api/rasa_profile.py`); the
tables, the rows and what each turn stores are Rasa's own, so a Rasa server with the plain
`SQL` store reads and writes the same database.

Rasa 3.6's SQLTrackerStore, profiled serving turns (py-spy, one Rasa server under load on
PostgreSQL with the RabbitMQ event broker), spent a third of the server's CPU reading
trackers:

- saving a turn with an event broker reads the whole tracker back first
  (`TrackerStore.stream_events`: every stored event fetched, parsed and replayed) only to
  learn how many of the turn's events are new, which the count query that `save` runs anyway
  already says. Here the new events are counted once and published from that;
- reading a tracker loads every row as an ORM object when only its `data` column is used.
  Here only that column is selected.

The events published, their order, and the events stored are the same as Rasa's. The one
change in order: the events are published once they are committed, not before, so a broker
never carries an event the store lost (Rasa's own order published first).
"""

from __future__ import annotations

import json
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY


class OpsDeskTrackerStore(SQLTrackerStore):
    """SQLTrackerStore with one read per turn instead of two, and no ORM objects per row."""

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events the database does not have yet, then publish exactly those."""
        with self.session_scope() as session:
            new_events = list(self._additional_events(session, tracker))
            for event in new_events:
                data = event.as_dict()
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=data.get("parse_data", {})
                        .get("intent", {})
                        .get(INTENT_NAME_KEY),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
        if self.event_broker is not None and new_events:
            await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            query = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).with_entities(self.SQLEvent.data)
            rows: list[Any] = session.execute(query.statement).all()
        events = [json.loads(data) for (data,) in rows]
        if self.domain is None or not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
