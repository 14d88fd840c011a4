"""Steps that span conversations and tickets, shared by the ops API and the console."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.ops.conversations import service
from api.ops.conversations.models import Message
from api.ops.tickets.models import Ticket


def agent_reply(
    *, db_session: Session, conversation_id: str, text: str, agent_name: str, actor: str
) -> Message:
    """A person's reply, stored `pending` in the caller's transaction: the conversation is in
    human mode from now on and the open ticket's first response time is set. After the
    commit, `get_hub().deliver_soon(conversation_id)` sends it on the customer's channel."""
    conversation = service.get_or_raise(db_session=db_session, conversation_id=conversation_id)
    message = service.add_message(
        db_session=db_session,
        conversation=conversation,
        direction="outbound",
        author="agent",
        text=text,
        agent_name=agent_name,
    )
    service.set_mode(
        db_session=db_session, conversation_id=conversation.id, mode="human", actor=actor
    )
    ticket = db_session.scalar(
        select(Ticket).where(Ticket.conversation_id == conversation.id, Ticket.status != "resolved")
    )
    if ticket is not None and ticket.first_response_at is None:
        ticket.first_response_at = message.created_at
    return message
