"""First-run API keys: the operator's `VOLTLAB_API_KEY`, or a generated key on an empty
database that `voltlab serve` prints once."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from voltlab.store import repo
from voltlab.store.db import Database


def bootstrap_keys(database: Database, env_key: str | None, *, create_if_empty: bool) -> str | None:
    """Register `env_key` as an admin key of org `default` (idempotent). Without one and with
    no key in the database, create a key when `create_if_empty` and return its plaintext; it
    exists nowhere else, so the caller must show it now. Otherwise return None."""
    env_key = (env_key or "").strip()
    if env_key:
        try:
            with database.session() as session:
                if repo.find_api_key(session, env_key) is None:
                    org = repo.get_or_create_org(session, repo.DEFAULT_ORG)
                    repo.add_api_key(session, org.id, "admin", key=env_key)
        except IntegrityError:
            # Another process registered the same key (or org) at the same moment: done.
            pass
        return None
    if not create_if_empty:
        return None
    with database.session() as session:
        if repo.count_api_keys(session) > 0:
            return None
        org = repo.get_or_create_org(session, repo.DEFAULT_ORG)
        return repo.add_api_key(session, org.id, "admin")
