"""profiles: the words names are made of, for correcting a misspelt name (services/profiles/search.py, step 2)

A misspelt name ("Jonh Smiht") used to be looked for by trigram similarity of the whole name over every name
(`search_name % :q`, a GIN scan whose common trigrams touch a large part of a million names: ~70 ms). Names are made
of far fewer distinct words than there are names, so the typed words are corrected against those words first (the
spellings one typing slip away looked up exactly, then sound-alike and trigram probes, all on a small table), and
the names made of the corrected words are found by btree. `name_words` holds every word of every profile's and
alias's name, kept by statement triggers (a word is never removed: one no name uses any more only finds no one).

Revision ID: 0010_name_words
Revises: 0009_imports
"""
from alembic import op

revision = "0010_name_words"
down_revision = "0009_imports"
branch_labels = None
depends_on = None

TABLES = ("profiles", "profile_aliases")


def upgrade():
    op.execute("""
        CREATE TABLE name_words (
            word text PRIMARY KEY,
            sound text NOT NULL GENERATED ALWAYS AS (dmetaphone(word)) STORED)""")
    # On lower(word) (the words are lower case already), so that looking words up by equality uses the primary
    # key's btree: pg_trgm's GIN index also answers `=`, and a planner without statistics picks it for `= ANY`
    # of hundreds of spellings — seconds instead of a millisecond.
    op.execute("CREATE INDEX name_words_trgm ON name_words USING gin (lower(word) gin_trgm_ops)")
    op.execute("CREATE INDEX name_words_sound ON name_words (sound)")
    op.execute("CREATE INDEX profiles_names_lower ON profiles (lower(family_name), lower(given_name))")
    op.execute("CREATE INDEX profile_aliases_names_lower ON profile_aliases (lower(family_name), lower(given_name))")
    op.execute("""
        CREATE FUNCTION name_words_add() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO name_words (word)
            SELECT DISTINCT w FROM changed, regexp_split_to_table(changed.search_name, '\\s+') AS w
             WHERE w <> '' ORDER BY w
            ON CONFLICT DO NOTHING;
            RETURN NULL;
        END $$""")
    for table in TABLES:
        for event in ("INSERT", "UPDATE"):
            op.execute(f"""
                CREATE TRIGGER {table}_name_words_{event.lower()} AFTER {event} ON {table}
                REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION name_words_add()""")
        op.execute(f"""
            INSERT INTO name_words (word)
            SELECT DISTINCT w FROM {table}, regexp_split_to_table({table}.search_name, '\\s+') AS w WHERE w <> ''
            ON CONFLICT DO NOTHING""")


def downgrade():
    for table in TABLES:
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_name_words_{event} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS name_words_add()")
    op.execute("DROP INDEX IF EXISTS profile_aliases_names_lower")
    op.execute("DROP INDEX IF EXISTS profiles_names_lower")
    op.execute("DROP TABLE IF EXISTS name_words")
