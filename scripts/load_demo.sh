#!/usr/bin/env bash
# Load the shipped sample data into the demo database (idempotent: reloading changes nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
OVA=${VENV:-.venv}/bin/ova
$OVA load quartiers geodata/paris/paris_quartiers_administratifs.geojson --preset paris-quartiers
$OVA load quartiers geodata/nantes/nantes_metropole_quartiers.geojson --preset nantes-quartiers
$OVA norms seed
