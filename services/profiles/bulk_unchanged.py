"""A bulk import's rows for profiles that exist, found unchanged together: the rows of a partner's daily extract
that say what the profiles already say write nothing and need no one-at-a-time upsert.

For each (external reference, update body): the profile read with its access list (one query for the batch, and
one for their grants, locked as the upsert locks them), the caller's right to edit it decided as the upsert
decides it, the body checked as the upsert checks it (profiles.update_body) and compared as the upsert compares it
(profiles.would_change: the same comparisons its writers make). Only a row that passes all of that and would
change nothing is answered True; every other row (a change, a refusal, a profile merged away) goes through the
upsert, which writes it or says why not.
"""
from sqlalchemy import tuple_

from concord_common import clock
from concord_common.access import records
from concord_common.access.policy import decide
from concord_common.errors import ConcordError
from services.profiles import profiles
from services.profiles.models import Profile
from services.profiles.profile_views import child_lists
from services.profiles.record_kinds import PROFILE


def unchanged(uow, items: list[tuple[tuple, dict]]) -> list[bool]:
    """For each ((system, id), update body): whether upserting it would change nothing (see the module
    docstring). A reference on no profile is False."""
    if not items:
        return []
    table = Profile.__table__
    loaded = records.load_many(uow.session, PROFILE, tuple_(table.c.external_system, table.c.external_id).in_(
        sorted({ref for ref, _ in items})), lock=True)
    by_ref = {(row.external_system, row.external_id): (row, access) for row, access in loaded}
    current = child_lists(uow.session, [row.id for row, _ in loaded])
    now, answers = clock.now(), []
    for ref, payload in items:
        found = by_ref.get(ref)
        if found is None or not decide(uow.caller, found[1], "edit", now).allowed:
            answers.append(False)
            continue
        row = found[0]
        try:
            answers.append(not profiles.would_change(row, profiles.update_body(payload, row.kind), current[row.id]))
        except ConcordError:
            answers.append(False)
    return answers
