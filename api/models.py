"""Every table, imported in one place so metadata (and Alembic) sees them all."""

from api.console.models import AgentSession, LoginFailure, TicketNote
from api.db import Base
from api.hub.channels.email.models import (
    EmailQueued,
    EmailRecord,
    EmailThread,
    MailboxState,
    OutboxMail,
)
from api.ops.audit.models import AuditEntry
from api.ops.auth.models import Agent, ApiKey
from api.ops.catalog.models import Product, Variant
from api.ops.common.idempotency import IdempotencyRecord
from api.ops.conversations.models import Conversation, Message
from api.ops.customers.models import Customer
from api.ops.inventory.models import InventoryLevel, Location
from api.ops.kb.models import KbArticle
from api.ops.orders.models import (
    Order,
    OrderLine,
    Payment,
    Shipment,
    TrackingEvent,
)
from api.ops.returns.models import Rma, RmaLine
from api.ops.tickets.models import Ticket
from api.ops.verification.models import VerificationBucket

__all__ = [
    "Agent",
    "AgentSession",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Conversation",
    "Customer",
    "EmailQueued",
    "EmailRecord",
    "EmailThread",
    "IdempotencyRecord",
    "InventoryLevel",
    "KbArticle",
    "LoginFailure",
    "Location",
    "MailboxState",
    "Message",
    "Order",
    "OutboxMail",
    "OrderLine",
    "Payment",
    "Product",
    "Rma",
    "RmaLine",
    "Shipment",
    "Ticket",
    "TicketNote",
    "TrackingEvent",
    "Variant",
    "VerificationBucket",
]
