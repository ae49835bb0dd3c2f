#!/usr/bin/env bash
# Rebuild portal/static/vendor/ from the npm registry so that the portal (and the
# Folium maps it renders) never has to load front-end assets from a CDN.
#
# Usage:  scripts/vendor_assets.sh [OUTPUT_DIR]
#         OUTPUT_DIR defaults to portal/static/vendor (relative to the repo root).
#
# * Idempotent: each managed package folder is rebuilt from scratch in a temp
#   dir and then synced (rsync --delete) into OUTPUT_DIR; unmanaged files such as
#   OUTPUT_DIR/README.md are left alone.
# * To upgrade, change a version below, re-run, check the url(...) report at the
#   end, and update portal/static/vendor/README.md.
# * Needs: bash, npm, tar, awk, rsync. Only the npm registry is contacted.
set -euo pipefail

# ---- pinned versions ---------------------------------------------------------
LEAFLET_VERSION=1.9.4
JQUERY_VERSION=3.7.1
BOOTSTRAP_VERSION=5.2.2            # Folium 0.20 default
FONTAWESOME_VERSION=6.2.0          # Folium 0.20 default
AWESOME_MARKERS_VERSION=2.0.2      # npm: drmonty-leaflet-awesome-markers
BOOTSTRAP3_VERSION=3.4.1           # only for the glyphicons font + rules
MARKERCLUSTER_VERSION=1.5.3
LEAFLET_DRAW_VERSION=1.0.4
CHARTJS_VERSION=4.6.1
VECTORGRID_VERSION=1.3.0
AXE_CORE_VERSION=4.14.1            # accessibility checks, injected by the browser tests only
# -----------------------------------------------------------------------------

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$REPO_ROOT/portal/static/vendor}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/vendor_assets.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
STAGE="$TMP/stage"
mkdir -p "$STAGE"

# fetch SPEC NAME -> unpacks the npm tarball of SPEC into $TMP/src/NAME (the
# "package/" folder of the tarball); npm checks the registry's integrity hash.
fetch() {
  local spec="$1" name="$2" dl="$TMP/dl/$2"
  mkdir -p "$dl" "$TMP/src/$name"
  echo ">> npm pack $spec" >&2
  (cd "$dl" && npm pack "$spec" --silent >/dev/null 2>"$dl/npm.log") \
    || { cat "$dl/npm.log" >&2; exit 1; }
  tar -xzf "$dl"/*.tgz -C "$TMP/src/$name" --strip-components=1
}

# put SRC_ROOT DEST_DIR FILE... -> copy FILEs (paths relative to SRC_ROOT) into
# DEST_DIR (flat, or keep a sub-path with "from:to").
put() {
  local src="$1" dest="$2"; shift 2
  local f from to
  for f in "$@"; do
    from="${f%%:*}"; to="${f#*:}"
    [ "$from" = "$f" ] && to="$(basename "$f")"
    mkdir -p "$(dirname "$dest/$to")"
    cp "$src/$from" "$dest/$to"
  done
}

mit_licence() {  # mit_licence "COPYRIGHT LINE" "NOTE"
  cat <<EOF
NOTE: $2

The MIT License (MIT)

Copyright $1

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
THE SOFTWARE.
EOF
}

# ---- leaflet ----------------------------------------------------------------
fetch "leaflet@$LEAFLET_VERSION" leaflet
S="$TMP/src/leaflet"; D="$STAGE/leaflet"
put "$S" "$D" LICENSE dist/leaflet.js dist/leaflet.css
for img in layers.png layers-2x.png marker-icon.png marker-icon-2x.png marker-shadow.png; do
  put "$S" "$D" "dist/images/$img:images/$img"
done

# ---- jquery -----------------------------------------------------------------
fetch "jquery@$JQUERY_VERSION" jquery
put "$TMP/src/jquery" "$STAGE/jquery" LICENSE.txt dist/jquery.min.js

# ---- bootstrap 5 --------------------------------------------------------------
fetch "bootstrap@$BOOTSTRAP_VERSION" bootstrap
put "$TMP/src/bootstrap" "$STAGE/bootstrap" LICENSE \
  dist/js/bootstrap.bundle.min.js:js/bootstrap.bundle.min.js \
  dist/css/bootstrap.min.css:css/bootstrap.min.css

# ---- font awesome free ----------------------------------------------------------
fetch "@fortawesome/fontawesome-free@$FONTAWESOME_VERSION" fontawesome-free
S="$TMP/src/fontawesome-free"; D="$STAGE/fontawesome-free"
put "$S" "$D" LICENSE.txt css/all.min.css:css/all.min.css
for f in "$S"/webfonts/*; do put "$S" "$D" "webfonts/$(basename "$f"):webfonts/$(basename "$f")"; done

# ---- Leaflet.awesome-markers ------------------------------------------------------
fetch "drmonty-leaflet-awesome-markers@$AWESOME_MARKERS_VERSION" leaflet.awesome-markers
S="$TMP/src/leaflet.awesome-markers"; D="$STAGE/leaflet.awesome-markers"
put "$S" "$D" js/leaflet.awesome-markers.js css/leaflet.awesome-markers.css
for img in markers-soft.png markers-soft@2x.png markers-shadow.png markers-shadow@2x.png; do
  put "$S" "$D" "css/images/$img:images/$img"
done
# the tarball ships no licence file; package.json says MIT
mit_licence "(c) 2012-2013, Lennard Voogdt" \
  "drmonty-leaflet-awesome-markers@$AWESOME_MARKERS_VERSION ships no licence file. package.json declares MIT (https://github.com/lvoogdt/Leaflet.awesome-markers/blob/2.0/develop/LICENSE); the copyright line is the one in the header of leaflet.awesome-markers.js." \
  > "$D/LICENSE"

# ---- bootstrap 3 glyphicons (font + .glyphicon rules only) -----------------------
fetch "bootstrap@$BOOTSTRAP3_VERSION" bootstrap3
S="$TMP/src/bootstrap3"; D="$STAGE/bootstrap3-glyphicons"
put "$S" "$D" LICENSE
for f in eot svg ttf woff woff2; do
  put "$S" "$D" "dist/fonts/glyphicons-halflings-regular.$f:fonts/glyphicons-halflings-regular.$f"
done
mkdir -p "$D/css"
{
  # keep the Bootstrap banner (first comment), then everything from the
  # glyphicons @font-face up to the first non-glyphicon rule ("* {").
  awk 'NR==1,/\*\//' "$S/dist/css/bootstrap.css"
  echo "/* Glyphicons part of bootstrap.css $BOOTSTRAP3_VERSION, extracted by scripts/vendor_assets.sh. */"
  awk '/^@font-face \{/{on=1} /^\* \{/{on=0} on' "$S/dist/css/bootstrap.css"
} > "$D/css/glyphicons.css"
grep -q "glyphicon-halflings\|glyphicon-asterisk" "$D/css/glyphicons.css" \
  || { echo "glyphicons extraction failed" >&2; exit 1; }

# ---- leaflet.markercluster ------------------------------------------------------
fetch "leaflet.markercluster@$MARKERCLUSTER_VERSION" leaflet.markercluster
put "$TMP/src/leaflet.markercluster" "$STAGE/leaflet.markercluster" MIT-LICENCE.txt \
  dist/leaflet.markercluster.js dist/MarkerCluster.css dist/MarkerCluster.Default.css

# ---- leaflet-draw -----------------------------------------------------------------
fetch "leaflet-draw@$LEAFLET_DRAW_VERSION" leaflet-draw
S="$TMP/src/leaflet-draw"; D="$STAGE/leaflet-draw"
put "$S" "$D" dist/leaflet.draw.js dist/leaflet.draw.css
# only the sprites referenced by leaflet.draw.css; its other images are copies
# of Leaflet's own (marker/layers icons come from vendor/leaflet/images).
for img in spritesheet.png spritesheet-2x.png spritesheet.svg; do
  put "$S" "$D" "dist/images/$img:images/$img"
done
mit_licence "(c) 2012-2017, Jacob Toye, Jon West, Smartrak, Leaflet" \
  "leaflet-draw@$LEAFLET_DRAW_VERSION ships no licence file. package.json declares MIT (upstream: https://github.com/Leaflet/Leaflet.draw/blob/master/MIT-LICENSE.md); the copyright line is the one in the header of leaflet.draw.js." \
  > "$D/LICENSE"

# ---- chart.js -----------------------------------------------------------------------
fetch "chart.js@$CHARTJS_VERSION" chart.js
put "$TMP/src/chart.js" "$STAGE/chart.js" LICENSE.md dist/chart.umd.js

# ---- leaflet.vectorgrid ---------------------------------------------------------------
fetch "leaflet.vectorgrid@$VECTORGRID_VERSION" leaflet.vectorgrid
S="$TMP/src/leaflet.vectorgrid"; D="$STAGE/leaflet.vectorgrid"
put "$S" "$D" dist/Leaflet.VectorGrid.bundled.min.js
{
  echo "NOTE: leaflet.vectorgrid@$VECTORGRID_VERSION ships no licence file. package.json declares"
  echo "\"Beerware\"; the text below is the \"Legalese\" section of the package README.md."
  echo "Per the same README, the bundled build also contains geojson-vt (ISC), pbf (BSD),"
  echo "topojson (BSD) and vector-tile (BSD), whose licence texts are not shipped."
  echo
  awk '/^## Legalese/{on=1; next} on && /^## /{exit} on' "$S/README.md"
} > "$D/LICENSE"
grep -q "BEER-WARE" "$D/LICENSE" || { echo "vectorgrid licence extraction failed" >&2; exit 1; }

# ---- axe-core (used by tests/portal/a11y.py, never loaded by a portal page) ---------------
fetch "axe-core@$AXE_CORE_VERSION" axe-core
put "$TMP/src/axe-core" "$STAGE/axe-core" LICENSE LICENSE-3RD-PARTY.txt axe.min.js

# ---- folium's leaflet.awesome.rotate css ------------------------------------------------
# Folium 0.20 loads leaflet.awesome.rotate.min.css from a CDN but does not ship it
# in the wheel. folium.map.Icon(angle=N) adds class "fa-rotate-N", so generate
# the equivalent rules for 0..360 degrees.
D="$STAGE/folium"; mkdir -p "$D"
{
  echo "/* Equivalent of folium's leaflet.awesome.rotate.min.css (folium.Icon(angle=N) -> .fa-rotate-N). Generated by scripts/vendor_assets.sh. */"
  for a in $(seq 0 360); do
    printf '.fa-rotate-%d{-webkit-transform:rotate(%ddeg);-ms-transform:rotate(%ddeg);transform:rotate(%ddeg)}\n' "$a" "$a" "$a" "$a"
  done
} > "$D/leaflet.awesome.rotate.min.css"
FOLIUM_LICENSE="$(ls "$REPO_ROOT"/.venv/lib/python3*/site-packages/folium-*.dist-info/licenses/LICENSE* \
                      "$REPO_ROOT"/.venv/lib/python3*/site-packages/folium-*.dist-info/LICENSE* 2>/dev/null | head -n1 || true)"
if [ -n "$FOLIUM_LICENSE" ]; then
  cp "$FOLIUM_LICENSE" "$D/LICENSE.txt"
elif [ -f "$OUT/folium/LICENSE.txt" ]; then
  cp "$OUT/folium/LICENSE.txt" "$D/LICENSE.txt"   # keep the existing copy
else
  echo "WARNING: folium licence not found (install folium in .venv); folium/LICENSE.txt missing" >&2
fi

# ---- check: every relative url(...) in the CSS resolves, none points off-site ------------
fail=0
while IFS= read -r css; do
  dir="$(dirname "$css")"
  while IFS= read -r u; do
    case "$u" in
      data:*|\#*) ;;
      http:*|https:*|//*) echo "EXTERNAL url() in ${css#$STAGE/}: $u" >&2; fail=1 ;;
      *) p="${u%%[?#]*}"
         [ -f "$dir/$p" ] || { echo "MISSING url() target in ${css#$STAGE/}: $u" >&2; fail=1; } ;;
    esac
  done < <(grep -oE 'url\([^)]*\)' "$css" | sed -E "s/^url\((.*)\)$/\1/; s/^[\"']//; s/[\"']$//" | sort -u)
done < <(find "$STAGE" -name '*.css')
[ "$fail" = 0 ] || { echo "url() check failed" >&2; exit 1; }

# ---- sync into OUT ------------------------------------------------------------------------
for pkg in "$STAGE"/*/; do
  name="$(basename "$pkg")"
  mkdir -p "$OUT/$name"
  rsync -a --delete --checksum "$pkg" "$OUT/$name/"
done
echo "vendor assets written to $OUT" >&2
