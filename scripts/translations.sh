#!/usr/bin/env bash
# Refresh the message catalogue after changing user-facing strings, then translate the new
# entries in portal/translations/en/LC_MESSAGES/messages.po (setup compiles them).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
"$VENV/bin/pybabel" extract -F babel.cfg -k _l -o portal/messages.pot .
"$VENV/bin/pybabel" update -i portal/messages.pot -d portal/translations --width 100
"$VENV/bin/pybabel" compile -d portal/translations --statistics
