#!/usr/bin/env bash
# The one test command: installs what the tests need when it is missing,
# then runs every test of the workspace.
#
#   - Node.js: the independent DSSE verifier in node/tests (expected on the
#     machine; not installed here).
#   - Debian's chromium: the dashboard tests drive it headless.
#   - Debian's poppler-utils: pdftotext reads the PDF reports back.
#   - Debian's strace: the durability test traces a node's syscalls.
#   - playwright-core and axe-core (npm, pinned in tests/browser's
#     package-lock.json): the browser scenarios of tests/browser/.
#   - openapi-spec-validator (PyPI): checks the generated OpenAPI document.
#   - schemathesis (PyPI): tests a real node against that document
#     (tests/tests/integration/schemathesis.rs, tests/schemathesis/).
#   - http-message-signatures, requests, cryptography (PyPI): an independent
#     RFC 9421 client signs requests from the README's profile
#     (tests/interop/signed_request.py).
set -euo pipefail
cd "$(dirname "$0")/.."

need_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v node >/dev/null; then
    echo "tests/run.sh: Node.js is required (node on PATH)" >&2
    exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
    echo "tests/run.sh: installing chromium (Debian package) for the dashboard test"
    need_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi
if ! command -v pdftotext >/dev/null; then
    echo "tests/run.sh: installing poppler-utils (Debian package) to read the PDF reports"
    need_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q poppler-utils
fi
if ! command -v strace >/dev/null; then
    echo "tests/run.sh: installing strace (Debian package) for the durability test"
    need_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    need_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q strace
fi
if ! python3 -c 'import openapi_spec_validator' 2>/dev/null; then
    echo "tests/run.sh: installing openapi-spec-validator for the OpenAPI test"
    python3 -m pip install --quiet --disable-pip-version-check 'openapi-spec-validator>=0.7,<0.10'
fi
if ! command -v schemathesis >/dev/null; then
    echo "tests/run.sh: installing schemathesis for the OpenAPI contract test"
    python3 -m pip install --quiet --disable-pip-version-check 'schemathesis>=4.32,<5'
fi
if ! python3 -c 'import http_message_signatures, requests, cryptography' 2>/dev/null; then
    echo "tests/run.sh: installing http-message-signatures for the signed-request interop test"
    python3 -m pip install --quiet --disable-pip-version-check \
        'http-message-signatures>=3,<4' 'requests>=2.28,<3' 'cryptography>=41'
fi

if [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/axe-core ]; then
    echo "tests/run.sh: installing playwright-core and axe-core (npm) for the browser scenarios"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

exec cargo test --workspace "$@"
