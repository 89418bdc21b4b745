"""Record-level access: one policy for every record type (profiles, families, cases).

* policy.py  — who may do what to a record: `decide()` for one record and
               `visible_clause()` for lists and searches, in SQL. Both read the
               same rules, and tests hold them to agreeing.
* store.py   — the access list kept with each record in its owning service:
               grants (team, organisation or user; view or edit; lawful basis;
               expiry; revocation), and the SQL around them.
* records.py — what every record-owning service does with it (share, revoke,
               restrict, break-glass, transfers, requests, why), as plain functions.
* entrypoints.py — the RPCs every record-owning service exposes for them.
Which record types exist, which service owns each and their URL words:
concord_common.record_types (the one registry).
"""
