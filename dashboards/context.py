"""What the running dashboards hold: settings, the database (for sign-in and audit), the
sign-in policy and keys, and where the published snapshot lives. Built once per process and
settings (`st.cache_resource`), never at import."""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import streamlit as st

from transactional.database import Database
from transactional.identity.signin import AuthPolicy
from transactional.secrets import Keyring, load_secrets
from transactional.settings import Settings, get_settings
from warehouse.client import Warehouse
from warehouse.publish import published_root


@dataclass(frozen=True)
class Context:
    settings: Settings
    database: Database
    policy: AuthPolicy
    keyring: Keyring

    @property
    def snapshot_root(self) -> Path:
        return published_root(self.settings.state_dir)

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse.from_settings(self.settings)


@st.cache_resource(show_spinner=False)
def _context(state_dir: str, database_url: str | None) -> Context:
    settings = get_settings()
    return Context(
        settings=settings,
        database=Database.from_settings(settings),
        policy=AuthPolicy(
            refresh_ttl=timedelta(hours=settings.refresh_token_hours),
            idle_timeout=timedelta(minutes=settings.idle_timeout_minutes),
            lockout_threshold=settings.lockout_threshold,
            lockout_duration=timedelta(minutes=settings.lockout_minutes),
        ),
        keyring=load_secrets(settings).keyring,
    )


def context() -> Context:
    """The context of the current settings (a changed EMR_* environment gets its own)."""
    settings = get_settings()
    url = settings.database_url.get_secret_value() if settings.database_url else None
    return _context(str(settings.state_dir), url)
