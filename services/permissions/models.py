"""Tables the permissions service owns (its own database: concord_permissions).

Only the messaging tables (outbox, processed_messages) exist so far; the
domain tables arrive with the issues that build this service out.
"""
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
