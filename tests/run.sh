#!/usr/bin/env bash
# The one test command: installs what the tests need when it is missing,
# then runs every test of the workspace.
#
#   - Node.js: the independent DSSE verifier in node/tests (expected on the
#     machine; not installed here).
#   - Debian's chromium: the dashboard test drives it headless.
#   - openapi-spec-validator (PyPI): checks the generated OpenAPI document.
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
if ! python3 -c 'import openapi_spec_validator' 2>/dev/null; then
    echo "tests/run.sh: installing openapi-spec-validator for the OpenAPI test"
    python3 -m pip install --quiet --disable-pip-version-check 'openapi-spec-validator>=0.7,<0.10'
fi

exec cargo test --workspace "$@"
