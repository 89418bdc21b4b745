"""Keyset pages over rows with (created_at, id), newest first: `?limit=` and an opaque `?cursor=`."""
import base64
import json
import uuid
from datetime import datetime

from sqlalchemy import and_, or_

from concord_common.errors import ValidationFailed

BAD_CURSOR = {"cursor": ["This cursor is not one we gave out."]}


def encode_cursor(created_at: datetime, row_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return moment, str(uuid.UUID(row_id))
    except (ValueError, TypeError, AttributeError):
        raise ValidationFailed("One or more fields are invalid.", BAD_CURSOR) from None


def page(session, query, model, limit: int, cursor: str | None) -> tuple[list, str | None]:
    """(rows, next_cursor) for `query` (a select of `model`), newest first."""
    if cursor:
        at, row_id = decode_cursor(cursor)
        query = query.where(or_(model.created_at < at, and_(model.created_at == at, model.id < row_id)))
    rows = session.scalars(query.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)).all()
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(rows[-1].created_at, rows[-1].id)
    return rows, None
