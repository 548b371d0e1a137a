"""The migration chain, one file per step, oldest first.

A file's number is its place in the chain: ``NNNN_<what>.py`` revises the file numbered one
less (``tests/test_migrations.py`` checks it). A new migration takes the next free number and
the revision id ``"NNNN_<what>"``. Revision ids never change once shipped: a database records
the id it is at, so ``0004_bookings.py`` keeps the id ``0003_bookings`` it shipped under.
Each file names its ids on one line, ``revision, down_revision = "NNNN_<what>", "<previous>"``
(Alembic reads them as module attributes), and keeps its docstring to what the step does.
"""
