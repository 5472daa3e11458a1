"""report.pdf: the HTML report printed by headless Chromium, so the PDF shows exactly what the
browser shows (inline SVG charts, Chinese in the system's CJK fonts, the report's A4 print
style) with no second layout engine to keep in step.

Chromium is optional. Without it, or when it fails or hangs, there is simply no PDF: one warning
in the log, and the caller carries on — a missing browser must never fail an evaluation.
`BIZENV_CHROMIUM=off` turns printing off where a PDF is not wanted (a worker without a display
budget, the test suite).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
ENVIRONMENT = "BIZENV_CHROMIUM"
OFF = "off"


def find_chromium() -> str | None:
    """`$BIZENV_CHROMIUM` when set (and then only it: a configured browser that is missing is a
    fault to report, not a reason to use another one), else the first browser on PATH; None
    when there is none, or when `$BIZENV_CHROMIUM` is `off`."""
    configured = os.environ.get(ENVIRONMENT)
    if configured == OFF:
        return None
    if configured:
        path = Path(configured)
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def print_pdf(html: Path, pdf: Path, *, timeout: float = 60) -> bool:
    """Print `html` to `pdf` with headless Chromium; True when the PDF was written.

    The PDF appears only complete: Chromium prints to a temporary file beside it, which replaces
    `pdf` once it holds a PDF, so a failed or interrupted print leaves nothing (and an older
    report.pdf untouched). Each run has a fresh browser profile, so concurrent prints and an
    unwritable home directory do not matter. On timeout the browser's whole process group is
    killed, its helper processes included.
    """
    if os.environ.get(ENVIRONMENT) == OFF:
        logger.info("report.pdf not written: $%s=%s", ENVIRONMENT, OFF)
        return False
    browser = find_chromium()
    if browser is None:
        where = f"${ENVIRONMENT}={os.environ[ENVIRONMENT]}" if os.environ.get(ENVIRONMENT) else "PATH"
        logger.warning(
            "report.pdf not written: no Chromium found (%s; looked for %s)", where, ", ".join(BROWSERS)
        )
        return False
    if not html.is_file():
        logger.warning("report.pdf not written: %s does not exist", html)
        return False
    pdf.parent.mkdir(parents=True, exist_ok=True)
    part = pdf.with_name(f".{pdf.name}.part")
    with tempfile.TemporaryDirectory(prefix="bizenv-chromium-") as profile:
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={part}",
            html.resolve().as_uri(),
        ]
        problem = _run(command, timeout)
    if problem is None and not _is_pdf(part):
        problem = "it wrote no PDF"
    if problem is not None:
        part.unlink(missing_ok=True)
        logger.warning("report.pdf not written: Chromium (%s) failed on %s: %s", browser, html, problem)
        return False
    os.replace(part, pdf)
    return True


def _run(command: list[str], timeout: float) -> str | None:
    """Run the browser; None when it exited cleanly, else what went wrong."""
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so a timeout can end all of it
        )
    except OSError as error:
        return str(error)
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return f"no result after {timeout:g} s"
    if process.returncode != 0:
        lines = err.decode("utf-8", "replace").strip().splitlines()
        return f"exit code {process.returncode}" + (f" ({lines[-1][:300]})" if lines else "")
    return None


def _is_pdf(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(5) == b"%PDF-"
    except OSError:
        return False
