"""A case's notes and its timeline. Plain functions, no nameko.

Notes are never changed: a correction is a new note that `corrects` the old one. Sensitive notes (and
their lines in the timeline) are for the lead team only: everyone else's lists simply do not have them.
"""
import base64
import uuid
from datetime import datetime

from sqlalchemy import and_, or_, select

from concord_common import clock
from concord_common.errors import NotFound, ValidationFailed, load_or_fail
from services.cases.logic import add_event, add_to_timeline, is_lead, load_case
from services.cases.models import Note, TimelineEntry
from services.cases.schemas import CorrectionSchema, NoteCreateSchema, PageSchema

_note_schema = NoteCreateSchema()
_correction_schema = CorrectionSchema()
_page_schema = PageSchema()
KIND_WORDS = {"update": "Update", "contact": "Contact", "meeting": "Meeting", "decision": "Decision",
              "third_party": "Third-party information"}
SNIPPET = 160


def _json(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def note_view(note, corrected_by=()) -> dict:
    return {"id": note.id, "case_id": note.case_id, "text": note.text, "kind": note.kind,
            "author": {"id": note.author_id, "display_name": note.author_name,
                       "organisation_id": note.author_organisation_id},
            "occurred_at": _json(note.occurred_at), "recorded_at": _json(note.recorded_at),
            "sensitive": note.sensitive, "corrects": note.corrects, "correction_reason": note.correction_reason,
            "corrected_by": list(corrected_by)}


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[:SNIPPET - 1].rstrip() + "…"


def write_note(uow, row, access, data, corrects=None, reason=None) -> Note:
    caller, now = uow.caller, clock.now()
    note = Note(id=str(uuid.uuid4()), case_id=row.id, kind=data["kind"], text=data["text"],
                occurred_at=data["occurred_at"] or now, recorded_at=now, author_id=caller.id,
                author_name=caller.display_name, author_organisation_id=caller.organisation_id,
                sensitive=data["sensitive"], corrects=corrects, correction_reason=reason)
    uow.session.add(note)
    if corrects:
        add_to_timeline(uow, row.id, "note_corrected", f"Note corrected ({reason}): {_snippet(note.text)}",
                        ref={"type": "note", "id": note.id, "corrects": corrects}, sensitive=note.sensitive)
    else:
        add_to_timeline(uow, row.id, "note", f"{KIND_WORDS[note.kind]}: {_snippet(note.text)}",
                        ref={"type": "note", "id": note.id}, at=note.occurred_at, sensitive=note.sensitive)
    # What was noted, not the words: the audit log is read more widely than the case.
    add_event(uow, "note_corrected" if corrects else "note_added", row, access, note={
        "id": note.id, "kind": note.kind, "sensitive": note.sensitive, "occurred_at": _json(note.occurred_at),
        "characters": len(note.text), "corrects": corrects}, **({"reason": reason} if reason else {}))
    uow.session.flush()
    return note


def add_note(uow, case_id, payload) -> dict:
    row, access, _ = load_case(uow.session, uow.caller, case_id, "edit")
    data = load_or_fail(_note_schema, payload)
    if data["sensitive"] and not is_lead(uow.caller, access):
        raise ValidationFailed("One or more fields are invalid.", {"sensitive": [
            "Only the team that leads the case may add sensitive notes (only they can read them)."]})
    data["text"] = data["text"].strip()
    return note_view(write_note(uow, row, access, data))


def correct_note(uow, case_id, note_id, payload) -> dict:
    row, access, _ = load_case(uow.session, uow.caller, case_id, "edit")
    try:
        note = uow.session.get(Note, str(uuid.UUID(str(note_id))))
    except ValueError:
        note = None
    if note is None or note.case_id != row.id or (note.sensitive and not is_lead(uow.caller, access)):
        raise NotFound()
    data = load_or_fail(_correction_schema, payload)
    corrected = write_note(uow, row, access, {"text": data["text"].strip(), "kind": note.kind,
                                              "occurred_at": note.occurred_at, "sensitive": note.sensitive},
                           corrects=note.id, reason=data["reason"].strip())
    return note_view(corrected)


def _offset(cursor) -> int:
    try:
        return max(0, int(cursor or 0))
    except ValueError:
        raise ValidationFailed("One or more fields are invalid.", {"cursor": ["Not a cursor this list gave."]})


def list_notes(uow, case_id, params) -> dict:
    row, access, decision = load_case(uow.session, uow.caller, case_id)
    page = load_or_fail(_page_schema, params or {})
    limit, offset = page["limit"], _offset(page["cursor"])
    query = select(Note).where(Note.case_id == row.id)
    if not is_lead(uow.caller, access):
        query = query.where(Note.sensitive.is_(False))
    notes = uow.session.execute(query.order_by(Note.recorded_at.desc(), Note.id.desc())
                                .limit(limit + 1).offset(offset)).scalars().all()
    shown = notes[:limit]
    corrections = {}
    if shown:
        for later in uow.session.execute(select(Note.id, Note.corrects).where(
                Note.corrects.in_([n.id for n in shown]), *([] if is_lead(uow.caller, access)
                                                             else [Note.sensitive.is_(False)]))
                .order_by(Note.recorded_at)):
            corrections.setdefault(later.corrects, []).append(later.id)
    add_event(uow, "viewed", row, access, level=decision.level, part="notes")
    return {"items": [note_view(n, corrections.get(n.id, ())) for n in shown],
            "next_cursor": str(offset + limit) if len(notes) > limit else None}


# -- the timeline ------------------------------------------------------------------------------------------------
def _encode(entry) -> str:
    return base64.urlsafe_b64encode(f"{entry.at.isoformat()}|{entry.id}".encode()).decode().rstrip("=")


def _decode(cursor: str):
    try:
        at, entry_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
        return datetime.fromisoformat(at), int(entry_id)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("One or more fields are invalid.", {"cursor": ["Not a cursor this list gave."]})


def timeline(uow, case_id, params) -> dict:
    """Newest first, a page at a time (keyset on (at, id): as fast on page 100 as on page 1)."""
    row, access, decision = load_case(uow.session, uow.caller, case_id)
    page = load_or_fail(_page_schema, params or {})
    t = TimelineEntry
    query = select(t).where(t.case_id == row.id)
    if not is_lead(uow.caller, access):
        query = query.where(t.sensitive.is_(False))
    if page["cursor"]:
        at, entry_id = _decode(page["cursor"])
        query = query.where(or_(t.at < at, and_(t.at == at, t.id < entry_id)))
    entries = uow.session.execute(query.order_by(t.at.desc(), t.id.desc()).limit(page["limit"] + 1)).scalars().all()
    shown = entries[:page["limit"]]
    add_event(uow, "viewed", row, access, level=decision.level, part="timeline")
    return {"items": [{"at": _json(e.at), "kind": e.kind, "summary": e.summary,
                       "by": {"id": e.by_id, "display_name": e.by_name} if e.by_id else None, "ref": e.ref}
                      for e in shown],
            "next_cursor": _encode(shown[-1]) if len(entries) > page["limit"] else None}
