"""Alembic's environment (`env.py`), the template of a new revision (`script.py.mako`) and the
revisions (`versions/`) of voltlab's own tables. Run through `voltlab.store.migrate`, never
with an `alembic.ini`: `voltlab db upgrade`, every start of the server, and
`scripts/new-migration` for a new revision (docs/migrations.md)."""
