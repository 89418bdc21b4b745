"""cases: each action carries its case's lead team, kept by triggers, so "my actions" counts need no join

GET /me/actions counts every active action of the caller's teams that they may still view. Checking each against
its case cost one index lookup per action (1,934 lookups, ~10 of the ~11 ms at 2,000 open actions). Most actions
are on cases the caller's own team leads: with the lead team beside the action, those are counted from the index
alone and only the rest (cases shared with the team) are checked against the case and its grants (actions.py).

The copy is kept by the database, not by the code paths that change a case's lead team (a transfer is applied by
the shared access code for every record type), so no path can forget it: a trigger fills it when an action is
written and another rewrites it when a case's lead team changes.

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('open', 'in_progress')"


def upgrade():
    op.execute("ALTER TABLE case_actions ADD COLUMN case_owner_team_id text")
    op.execute("UPDATE case_actions a SET case_owner_team_id = c.owner_team_id FROM cases c WHERE c.id = a.case_id")
    op.execute("""
        CREATE FUNCTION case_actions_take_case_owner() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            SELECT owner_team_id INTO NEW.case_owner_team_id FROM cases WHERE id = NEW.case_id;
            RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER case_actions_case_owner BEFORE INSERT OR UPDATE OF case_id, case_owner_team_id "
               "ON case_actions FOR EACH ROW EXECUTE FUNCTION case_actions_take_case_owner()")
    op.execute("""
        CREATE FUNCTION cases_owner_to_actions() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE case_actions SET case_owner_team_id = NEW.owner_team_id WHERE case_id = NEW.id;
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER cases_owner_to_actions AFTER UPDATE OF owner_team_id ON cases FOR EACH ROW "
               "WHEN (OLD.owner_team_id IS DISTINCT FROM NEW.owner_team_id) EXECUTE FUNCTION cases_owner_to_actions()")
    # The active actions' indexes answer the counts with the lead team from the index (index-only scans).
    op.execute("DROP INDEX case_actions_team_active_due")
    op.execute(f"CREATE INDEX case_actions_team_active_due ON case_actions (assignee_team_id, due, id) "
               f"INCLUDE (case_id, assignee_user_id, case_owner_team_id) WHERE {ACTIVE}")
    op.execute(f"CREATE INDEX case_actions_user_active_due ON case_actions (assignee_user_id, due, id) "
               f"INCLUDE (case_id, case_owner_team_id) WHERE assignee_user_id IS NOT NULL AND {ACTIVE}")


def downgrade():
    op.execute("DROP INDEX case_actions_user_active_due")
    op.execute("DROP INDEX case_actions_team_active_due")
    op.execute(f"CREATE INDEX case_actions_team_active_due ON case_actions (assignee_team_id, due, id) "
               f"INCLUDE (case_id, assignee_user_id) WHERE {ACTIVE}")
    op.execute("DROP TRIGGER cases_owner_to_actions ON cases")
    op.execute("DROP FUNCTION cases_owner_to_actions()")
    op.execute("DROP TRIGGER case_actions_case_owner ON case_actions")
    op.execute("DROP FUNCTION case_actions_take_case_owner()")
    op.execute("ALTER TABLE case_actions DROP COLUMN case_owner_team_id")
