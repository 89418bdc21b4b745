"""Tables the notifications service owns (its own database: concord_notifications).

Only the messaging tables (outbox, processed_messages) exist so far; the
domain tables arrive with the issues that build this service out.
"""
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
