"""External programs some document tests drive (Chromium, LibreOffice): a test without them is
skipped, except where BIZENV_REQUIRE_DOCUMENT_TOOLS=1 (CI, after
scripts/install-document-tools.sh) makes their absence a failure."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRED = os.environ.get("BIZENV_REQUIRE_DOCUMENT_TOOLS") == "1"


def program(*names: str) -> str:
    """The path of the first of `names` on PATH; otherwise skip (or fail in CI)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    message = f"{' / '.join(names)} not installed (scripts/install-document-tools.sh installs it)"
    if REQUIRED:
        pytest.fail(message)
    pytest.skip(message)
