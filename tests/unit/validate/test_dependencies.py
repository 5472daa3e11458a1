"""Dependencies run one way: loading (bizenv.ingest) uses validation, never the reverse."""

import ast
from pathlib import Path

import bizenv.validate

VALIDATE = Path(bizenv.validate.__file__).parent


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_validation_does_not_import_loading():
    offenders = sorted(
        f"{path.name}: {name}"
        for path in VALIDATE.glob("*.py")
        for name in imported(path)
        if name == "bizenv.ingest" or name.startswith("bizenv.ingest.")
    )
    assert offenders == []
