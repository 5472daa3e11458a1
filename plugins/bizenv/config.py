"""Where things live: project root, schema folder, warehouse URL, salt."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("BIZENV_HOME", Path(__file__).resolve().parents[2]))


def schemas_dir() -> Path:
    return Path(os.environ.get("BIZENV_SCHEMAS_DIR", PROJECT_ROOT / "survey_schemas"))


def var_dir() -> Path:
    path = PROJECT_ROOT / "var"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_database_url() -> str:
    return f"sqlite:///{var_dir() / 'bizenv.sqlite'}"


def database_url(explicit: str | None = None) -> str:
    """The warehouse URL: --db, then BIZENV_DATABASE_URL, then the SQLite file under var/.

    Inside Airflow the `bizenv_warehouse` connection is consulted between the two
    (see `bizenv.airflow_support.warehouse_url`).
    """
    return explicit or os.environ.get("BIZENV_DATABASE_URL") or default_database_url()


def respondent_salt() -> str:
    """Salt for respondent hashes: BIZENV_SALT, else a random one kept in var/ (never in the repo)."""
    salt = os.environ.get("BIZENV_SALT")
    if salt:
        return salt
    path = var_dir() / "respondent_salt"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def landing_dir() -> Path:
    """Where survey files arrive and stay: inbox/<period>/, archive/<period>/, rejected/<period>/."""
    return Path(os.environ.get("BIZENV_LANDING_DIR", PROJECT_ROOT / "var" / "landing"))
