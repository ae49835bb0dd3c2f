#!/usr/bin/env bash
# Load the shipped sample data into the demo database (idempotent: reloading changes nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
OVA=${VENV:-.venv}/bin/ova
REJECTS=var/rejects
mkdir -p "$REJECTS"
load() {  # load TARGET PATH [options…]: rejected rows go to var/rejects/<file>.rejects.csv
  local target=$1 path=$2; shift 2
  $OVA load "$target" "$path" --reject-file "$REJECTS/$(basename "${path%.*}").rejects.csv" "$@"
}
load quartiers geodata/paris/paris_quartiers_administratifs.geojson --preset paris-quartiers
load quartiers geodata/nantes/nantes_metropole_quartiers.geojson --preset nantes-quartiers
# The portal's own street map (Ville de Paris streets; Nantes has no open street data: its maps say so).
load basemap geodata/basemap/paris_voies_ville_de_paris.gpkg --preset paris-voies
# Illustrative priority zones drawn for the demo (not official; see geodata/SOURCES.md).
load zones geodata/demo/zones_commerciales_demo.geojson --preset ova-zones
# Paris addresses (BAN) for the address search of the report form; none shipped for Nantes.
load addresses geodata/basemap/paris_ban_adresses-75.csv --preset ban
# Norms before incidents: each report gets its deadline when it is loaded.
$OVA norms seed
load incidents geodata/incidents/paris_dansmarue_2023-2024_extrait.csv --preset dansmarue
load establishments geodata/etablissements/sirene_restauration_rapide_56.10C_dep44-59-69-75.csv --preset sirene-56.10C
load establishments geodata/etablissements/decp_titulaires_sirene2022_commune.csv --preset decp-suppliers
load contracts geodata/commande_publique/decp_2019_marches_titulaires.csv --preset decp
# DansMaRue has no resolution times: fill them with the documented, seeded model (etl/simulation.py).
$OVA simulate resolutions --seed 42
# Catalogue layers of the core tables, then the indicators (published as layers too).
$OVA layers seed
$OVA compliance compute
$OVA indicators compute
