"""audit: hash-chained, append-only entries; chain head; signed checkpoints; a writer role

The migrations run as the database owner. The running service switches to
`concord_audit_writer` on every connection (SET ROLE), which may SELECT and
INSERT audit rows and nothing else, so it cannot rewrite history; triggers
refuse UPDATE, DELETE and TRUNCATE of entries and checkpoints from anyone.
Nothing is in production yet, so the table of 0001 is replaced.

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSON, JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

WRITER = "concord_audit_writer"
GENESIS = "0" * 64


def _at(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.drop_table("audit_entries")
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
        _at("at"),
        _at("recorded_at"),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("actor", JSON, nullable=False),
        sa.Column("actor_id", sa.Text),
        sa.Column("actor_organisation_id", sa.Text),
        sa.Column("record_type", sa.Text),
        sa.Column("record_id", sa.Text),
        sa.Column("record_owner_organisation_id", sa.Text),
        sa.Column("fields", JSON),
        sa.Column("reason", sa.Text),
        sa.Column("request_id", sa.Text),
        sa.Column("source_ip", sa.Text),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("page_view", sa.Boolean, nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("prev_hash", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.CheckConstraint("seq > 0", name="audit_entries_seq_positive"),
    )
    op.create_index("audit_entries_record", "audit_entries", ["record_type", "record_id", "seq"])
    op.create_index("audit_entries_actor", "audit_entries", ["actor_id", "seq"])
    op.create_index("audit_entries_owner_organisation", "audit_entries", ["record_owner_organisation_id", "seq"])
    op.create_index("audit_entries_actor_organisation", "audit_entries", ["actor_organisation_id", "at"])

    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        _at("updated_at", nullable=True),
        sa.CheckConstraint("id = 1", name="audit_chain_head_one_row"),
    )
    op.execute(f"INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, '{GENESIS}')")

    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.Text, nullable=False),
        _at("at"),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
    )

    # History is never rewritten: not by the service, not by a careless owner.
    op.execute("""
        CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END $$""")
    op.execute("""
        CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.seq < OLD.seq THEN
                RAISE EXCEPTION 'the audit chain head only moves forward (% -> %)', OLD.seq, NEW.seq
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END $$""")
    for table in ("audit_entries", "audit_checkpoints"):
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()")
    op.execute("CREATE TRIGGER audit_chain_head_keep BEFORE DELETE ON audit_chain_head "
               "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()")
    op.execute("CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()")
    op.execute("CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE ON audit_chain_head "
               "FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only()")

    # The role the service runs as. Roles are server-wide, so another audit database on the
    # same server (a test run, a second deployment) may be creating it at this very moment.
    op.execute(f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{WRITER}') THEN
                BEGIN
                    CREATE ROLE {WRITER} NOLOGIN NOINHERIT;
                EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
                END;
            END IF;
            IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                EXECUTE format('GRANT {WRITER} TO %I', current_user);
            END IF;
        END $$""")
    op.execute(f"REVOKE ALL ON audit_entries, audit_checkpoints, audit_chain_head, outbox, processed_messages "
               f"FROM {WRITER}")
    op.execute(f"GRANT SELECT, INSERT ON audit_entries, audit_checkpoints TO {WRITER}")
    op.execute(f"GRANT SELECT, UPDATE ON audit_chain_head TO {WRITER}")
    op.execute(f"GRANT SELECT, INSERT ON processed_messages TO {WRITER}")
    # The outbox relay marks rows published and purges old ones.
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO {WRITER}")
    op.execute(f"GRANT USAGE ON SEQUENCE outbox_seq_seq TO {WRITER}")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {WRITER}")


def downgrade():
    op.execute(f"REVOKE ALL ON audit_entries, audit_checkpoints, audit_chain_head, outbox, processed_messages "
               f"FROM {WRITER}")
    op.execute(f"REVOKE USAGE ON SEQUENCE outbox_seq_seq FROM {WRITER}")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chain_head")
    op.drop_table("audit_entries")
    op.execute("DROP FUNCTION audit_refuse_change()")
    op.execute("DROP FUNCTION audit_head_forward_only()")
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
        _at("at"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("record_type", sa.Text),
        sa.Column("record_id", sa.Text),
        sa.Column("actor", JSONB, nullable=False),
        sa.Column("request_id", sa.Text),
        sa.Column("data", JSONB, nullable=False),
    )
    op.create_index("audit_entries_record", "audit_entries", ["record_type", "record_id", "seq"])
