#!/usr/bin/env bash
# Install what the document tests drive, from Debian's packages, when it is missing: Chromium
# (report.pdf, and the report opened in a browser), the Noto CJK fonts (Chinese in screenshots
# and PDFs), LibreOffice Writer without a GUI (bulletin.docx converted to PDF) and poppler's
# pdftotext (the PDFs read back as text). The pipeline
# itself needs none of them; the tests that do are skipped without them, except in CI
# (BIZENV_REQUIRE_DOCUMENT_TOOLS=1), where .ci/run installs them first.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
# (grep reads all of fc-list: with -q it would stop early, and pipefail would see the SIGPIPE)
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || missing+=(fonts-noto-cjk)
command -v soffice >/dev/null || missing+=(libreoffice-writer-nogui)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
if [ ${#missing[@]} -eq 0 ]; then
  echo "document tools: chromium, fonts-noto-cjk, soffice, pdftotext present"
  exit 0
fi
echo "document tools: installing ${missing[*]} with apt-get"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "document tools: installed ${missing[*]}"
