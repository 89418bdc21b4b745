"""profiles: person details (aliases, identifiers, addresses, flags), premises, history, partner refs,
families, nicknames, and fuzzy/phonetic search (pg_trgm, fuzzystrmatch)

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

def profile_fk():
    return sa.ForeignKey("profiles.id", ondelete="CASCADE")
SEARCH_NAME = ("lower(coalesce(given_name || ' ', '') || coalesce(family_name, '') || coalesce(name, ''))")


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS fuzzystrmatch")
    op.add_column("profiles", sa.Column("gender", sa.Text))
    op.add_column("profiles", sa.Column("roles", ARRAY(sa.Text), nullable=False, server_default="{}"))
    op.add_column("profiles", sa.Column("contact", JSONB))
    op.add_column("profiles", sa.Column("premises_type", sa.Text))
    op.add_column("profiles", sa.Column("external_system", sa.Text))
    op.add_column("profiles", sa.Column("external_id", sa.Text))
    op.add_column("profiles", sa.Column("merged_into", UUID(as_uuid=False)))
    op.execute(f"ALTER TABLE profiles ADD COLUMN search_name text GENERATED ALWAYS AS ({SEARCH_NAME}) STORED")
    op.create_unique_constraint("profiles_external_ref", "profiles", ["external_system", "external_id"])
    op.create_check_constraint("profiles_premises_type", "profiles",
                               "premises_type IS NULL OR premises_type IN "
                               "('residential', 'licensed_premises', 'business', 'public_space', 'other')")
    op.execute("CREATE INDEX profiles_search_name_trgm ON profiles USING gin (search_name gin_trgm_ops)")
    op.execute("CREATE INDEX profiles_phonetic ON profiles (dmetaphone(family_name), dmetaphone(given_name))")
    op.create_index("profiles_date_of_birth", "profiles", ["date_of_birth"])

    op.create_table("profile_aliases",
                    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
                    sa.Column("profile_id", UUID(as_uuid=False), profile_fk(), nullable=False, index=True),
                    sa.Column("given_name", sa.Text), sa.Column("family_name", sa.Text))
    op.execute("ALTER TABLE profile_aliases ADD COLUMN search_name text GENERATED ALWAYS AS "
               "(lower(coalesce(given_name || ' ', '') || coalesce(family_name, ''))) STORED")
    op.execute("CREATE INDEX profile_aliases_search_name_trgm ON profile_aliases USING gin (search_name gin_trgm_ops)")
    op.execute("CREATE INDEX profile_aliases_phonetic ON profile_aliases "
               "(dmetaphone(family_name), dmetaphone(given_name))")
    op.create_table("profile_identifiers",
                    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
                    sa.Column("profile_id", UUID(as_uuid=False), profile_fk(), nullable=False, index=True),
                    sa.Column("scheme", sa.Text, nullable=False), sa.Column("value", sa.Text, nullable=False),
                    sa.CheckConstraint("scheme IN ('nhs_number', 'ni_number', 'pnc_id', 'upn')",
                                       name="profile_identifiers_scheme"))
    op.create_index("profile_identifiers_value", "profile_identifiers", ["value"])
    op.create_table("profile_addresses",
                    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
                    sa.Column("profile_id", UUID(as_uuid=False), profile_fk(), nullable=False, index=True),
                    sa.Column("line1", sa.Text), sa.Column("line2", sa.Text), sa.Column("town", sa.Text),
                    sa.Column("postcode", sa.Text), sa.Column("uprn", sa.Text),
                    sa.Column("from_date", sa.Date), sa.Column("to_date", sa.Date))
    op.create_index("profile_addresses_postcode", "profile_addresses", ["postcode"])
    op.create_table("profile_flags",
                    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
                    sa.Column("profile_id", UUID(as_uuid=False), profile_fk(), nullable=False, index=True),
                    sa.Column("flag", sa.Text, nullable=False), sa.Column("detail", JSONB),
                    sa.Column("set_by", sa.Text),
                    sa.Column("set_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()))
    op.create_index("profile_flags_flag", "profile_flags", ["flag", "profile_id"])
    op.create_table("premises_people",
                    sa.Column("premises_id", UUID(as_uuid=False), profile_fk(), primary_key=True),
                    sa.Column("profile_id", UUID(as_uuid=False), profile_fk(), primary_key=True))
    op.create_table("profile_history",
                    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
                    sa.Column("profile_id", UUID(as_uuid=False), nullable=False, index=True),
                    sa.Column("changed_by", sa.Text),
                    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False,
                              server_default=sa.func.now()),
                    sa.Column("field", sa.Text, nullable=False), sa.Column("before", JSONB),
                    sa.Column("after", JSONB))
    op.create_table("families",
                    sa.Column("id", UUID(as_uuid=False), primary_key=True),
                    sa.Column("name", sa.Text, nullable=False), sa.Column("created_by", sa.Text),
                    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
                    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
                    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
                    sa.Column("owner_team_id", sa.Text, index=True),
                    sa.Column("owner_organisation_id", sa.Text, index=True),
                    sa.Column("restricted", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table("family_members",
                    sa.Column("family_id", UUID(as_uuid=False), sa.ForeignKey("families.id", ondelete="CASCADE"),
                              primary_key=True),
                    sa.Column("profile_id", UUID(as_uuid=False), sa.ForeignKey("profiles.id"), primary_key=True),
                    sa.Column("role", sa.Text, nullable=False), sa.Column("added_by", sa.Text),
                    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
                    sa.CheckConstraint("role IN ('parent', 'child', 'sibling', 'partner', 'carer', 'grandparent', "
                                       "'other')", name="family_members_role"))
    op.create_index("family_members_profile", "family_members", ["profile_id"])
    nicknames = op.create_table("nicknames", sa.Column("name", sa.Text, primary_key=True),
                                sa.Column("variant", sa.Text, primary_key=True))
    from services.profiles.nicknames import NICKNAMES
    rows = {(a, b) for a, b in NICKNAMES} | {(b, a) for a, b in NICKNAMES}
    op.bulk_insert(nicknames, [{"name": a, "variant": b} for a, b in sorted(rows)])


def downgrade():
    for table in ("nicknames", "family_members", "families", "profile_history", "premises_people",
                  "profile_flags", "profile_addresses", "profile_identifiers", "profile_aliases"):
        op.drop_table(table)
    op.drop_index("profiles_date_of_birth")
    op.execute("DROP INDEX profiles_phonetic")
    op.execute("DROP INDEX profiles_search_name_trgm")
    op.drop_constraint("profiles_premises_type", "profiles")
    op.drop_constraint("profiles_external_ref", "profiles")
    for column in ("search_name", "merged_into", "external_id", "external_system", "premises_type", "contact",
                   "roles", "gender"):
        op.drop_column("profiles", column)
