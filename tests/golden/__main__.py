"""python -m tests.golden: regenerate the golden outputs."""

import contextlib
import io
import tempfile
from pathlib import Path

from tests.golden import build, freeze

with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
    tables = build(Path(tmp), f"sqlite:///{tmp}/warehouse.sqlite")
freeze(tables)
print("froze", ", ".join(f"{name} ({len(frame)} rows)" for name, frame in tables.items()))
