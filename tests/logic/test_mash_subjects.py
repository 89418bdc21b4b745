"""A MASH referral's subject given as person details (services/profiles/mash_subjects.py), against a real profiles
database: the best match at or above the threshold is linked, whoever leads it; otherwise a profile is made, led by
the MASH team; only the cases service (as the system) may ask."""
from datetime import date

import pytest

from concord_common.context import SYSTEM
from concord_common.errors import Forbidden
from services.profiles import mash_subjects
from services.profiles.models import Profile
from tests.logic import world

BORN = date(2016, 4, 2)


def test_the_best_match_above_the_threshold_is_linked_else_a_profile_is_made(uow):
    with uow(SYSTEM) as work:
        known = world.person(work.session, "Lily", "Evans", date_of_birth=BORN, team=world.TEAM_D1).id
    person = {"given_name": "Lily", "family_name": "Evans", "date_of_birth": BORN.isoformat()}
    with uow(SYSTEM) as work:
        found = mash_subjects.match_or_create(work, person, world.TEAM_A1, world.ORG_A, 0.5)
    assert found["matched"] is True and found["profile_id"] == known and found["display_name"] == "Lily Evans"
    with uow(SYSTEM) as work:
        made = mash_subjects.match_or_create(work, {"given_name": "Zebedee", "family_name": "Oxtoby"},
                                             world.TEAM_A1, world.ORG_A, 0.5)
    assert made["matched"] is False and made["profile_id"] != known
    with uow(SYSTEM) as work:
        row = work.session.get(Profile, made["profile_id"])
        assert (row.owner_team_id, row.owner_organisation_id) == (world.TEAM_A1, world.ORG_A)


def test_only_the_system_may_ask(uow):
    with pytest.raises(Forbidden):
        with uow(world.LEAD) as work:
            mash_subjects.match_or_create(work, {"given_name": "A", "family_name": "B"}, world.TEAM_A1, world.ORG_A)
