"""The bulk import contract (docs/imports.md): the upload form, and a job's answers. Named in schemas.CONTRACT."""
from marshmallow import Schema, fields, validate

from concord_common.contract import Described

STATUSES = ("queued", "running", "done", "failed")


class ImportFormSchema(Schema):
    """multipart/form-data: the file (CSV or JSON lines, docs/imports.md) in a part named `file`; `kind`
    (profiles); `owner_team_id`: the team that leads new profiles (an API client must name one of its
    organisation's teams; a person in several teams names one of theirs)."""
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
    kind = fields.String(required=True, validate=validate.OneOf(["profiles"]))
    owner_team_id = fields.UUID()


class ImportStartedSchema(Described):
    """An import accepted and queued: poll `GET /api/v1/imports/{id}`."""
    id = fields.UUID()
    status = fields.String(validate=validate.OneOf(STATUSES))


class ImportRowErrorSchema(Described):
    """One problem in one row: the 1-based data row, the field as the file names it (a CSV column, a JSON
    path; null when the row as a whole is wrong) and what to fix."""
    row = fields.Integer()
    field = fields.String(allow_none=True)
    message = fields.String()


class ImportCandidateSchema(Described):
    id = fields.UUID()
    score = fields.Float()


class ImportDuplicateSchema(Described):
    """A profile the import created although it is likely the same person as `candidates`: check and merge."""
    row = fields.Integer()
    profile_id = fields.UUID()
    candidates = fields.List(fields.Nested(ImportCandidateSchema))


class ImportSchema(Described):
    """A bulk import's progress and report. `rows_done` of `rows_total` rows are through; each is counted once
    as `created`, `updated`, `unchanged` or `failed`. `errors` lists the problems of the first 1000 failed
    rows (`rows_not_listed`: failed rows beyond them)."""
    id = fields.UUID()
    kind = fields.String()
    format = fields.String(validate=validate.OneOf(["csv", "jsonl"]))
    filename = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(STATUSES))
    rows_total = fields.Integer()
    rows_done = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    failed = fields.Integer()
    errors = fields.List(fields.Nested(ImportRowErrorSchema))
    rows_not_listed = fields.Integer()
    possible_duplicates = fields.List(fields.Nested(ImportDuplicateSchema))
    created_by = fields.String()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    problem = fields.String(allow_none=True)


CONTRACT = {"ImportForm": ImportFormSchema, "ImportStarted": ImportStartedSchema, "Import": ImportSchema,
            "ImportRowError": ImportRowErrorSchema, "ImportDuplicate": ImportDuplicateSchema}
