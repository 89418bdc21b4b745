"""Files on records — documents on profiles and cases, a person's photo — through one mechanism:
sniffing.py (what a file is, from its bytes), tables.py (where a record type's files live), schemas.py
(what an upload and a file look like) and files.py (add, list, download over a unit of work)."""
