#!/bin/sh
# Creates the organization's identity on first start, then runs the node.
#   ASSURE_NAME       the organization's name (required on first start)
#   ASSURE_CONFIG     the node configuration (default /etc/assure/node.toml)
#   ASSURE_DEMO_SEED  demonstrations only: a public key seed (see `assure init --help`)
set -eu
if [ ! -f /data/key.pem ]; then
    : "${ASSURE_NAME:?set ASSURE_NAME for the first start}"
    if [ -n "${ASSURE_DEMO_SEED:-}" ]; then
        assure --data /data init --name "$ASSURE_NAME" --demo-seed "$ASSURE_DEMO_SEED"
    else
        assure --data /data init --name "$ASSURE_NAME"
    fi
fi
exec assure run --config "${ASSURE_CONFIG:-/etc/assure/node.toml}"
