"""profiles: search indexes for a million profiles

Nothing to add: search at a million profiles (services/profiles/search.py, docs/profiles.md "Search")
uses the indexes 0003 made — the GIN trigram indexes on profiles/profile_aliases.search_name (word
similarity `%>` with every typed word in one index scan, `%`, and `~` for an exact word), the btree
indexes on (dmetaphone(family_name), dmetaphone(given_name)), date_of_birth, profile_addresses.postcode
and profile_identifiers.value. Measured at 1M and left out:
* a GiST gist_trgm_ops index for nearest-neighbour `ORDER BY search_name <-> :q LIMIT 50`: ~250 ms a
  query (siglen 12 and 256 alike), as the search visits most of the index (9,500-11,400 buffers);
* fastupdate = off on the GIN indexes: the pending list cost a search < 1 ms after 15,000 inserts.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
