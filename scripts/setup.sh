#!/usr/bin/env bash
# Set up Portail OVA on a Debian/Ubuntu machine: system packages (only when missing), a venv,
# the Python package, PostgreSQL + PostGIS, the demo and test databases and their schema.
# Idempotent and quick the second time.  Usage: scripts/setup.sh [demo|test]
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-demo}
VENV=${VENV:-.venv}
mkdir -p var

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

apt_updated=
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "apt install ${missing[*]}"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- system packages ---------------------------------------------------------------------------
command -v python3 >/dev/null || apt_install python3
# The street names of the portal's own basemap are drawn with DejaVu Sans.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt_install fonts-dejavu-core
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
if [ "$purpose" = test ]; then
  # Browser tests drive Debian's Chromium; GDAL's ogrinfo is an OGC API client under test.
  [ -x /usr/bin/chromium ] || apt_install chromium
  # bench/geocode.py runs addok (the BAN's geocoder) on a local Redis.
  command -v redis-server >/dev/null || apt_install redis-server
  command -v ogrinfo >/dev/null || apt_install gdal-bin
  # The read-replica tests build their own primary and standby with initdb and pg_basebackup.
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || apt_install postgresql
fi

# --- PostgreSQL + PostGIS ----------------------------------------------------------------------
local_server=
if [ -z "${DATABASE_URL:-}" ]; then
  local_server=1
  if ! (command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432); then
    apt_install postgresql postgresql-contrib
    say "starting PostgreSQL"
    for v in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || as_root service postgresql start || true
    done
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    pg_isready -h 127.0.0.1 -p 5432
  fi
  major=$(as_postgres psql -XAtq -h /var/run/postgresql -c "SHOW server_version_num" | cut -c1-2)
  if [ "$(as_postgres psql -XAtq -h /var/run/postgresql -c "SELECT count(*) FROM pg_available_extensions WHERE name='postgis'")" = 0 ]; then
    apt_install "postgresql-${major}-postgis-3"
  fi
  as_postgres psql -XAtq -h /var/run/postgresql -v ON_ERROR_STOP=1 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ova') THEN
    CREATE ROLE ova LOGIN PASSWORD 'ova' CREATEDB;
  END IF;
END $$;
SQL
  export DATABASE_URL=postgresql://ova:ova@127.0.0.1:5432/ova
fi

# --- Python environment ------------------------------------------------------------------------
[ -x "$VENV/bin/python" ] || { say "creating $VENV"; python3 -m venv "$VENV"; }
stamp="$VENV/.ova-installed"
want=$(cat setup.cfg pyproject.toml | sha1sum | cut -c1-40)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "pip install -e .[test,bench,pii]"
  "$VENV/bin/pip" install -q --disable-pip-version-check -U pip wheel >/dev/null
  "$VENV/bin/pip" install -q --disable-pip-version-check -e '.[test,bench,pii]'
  echo "$want" > "$stamp"
fi
"$VENV/bin/pybabel" compile -d portal/translations >/dev/null  # the English catalogue

# --- databases: demo and test never share one --------------------------------------------------
# Each entry: URL|OVA_STORAGE_CRS|OVA_TIMEZONE (empty: the settings of the environment).
urls=("$DATABASE_URL||")
if [ "$purpose" = test ]; then
  export TEST_DATABASE_URL=${TEST_DATABASE_URL:-$("$VENV/bin/python" -c 'from ova.settings import test_database_url as t; print(t())')}
  urls=("$TEST_DATABASE_URL||")
  # The suite's other territories (ova.settings.TEST_TERRITORIES), each in a database of its own CRS.
  while IFS= read -r entry; do urls+=("$entry"); done < <("$VENV/bin/python" -c '
import sys
from ova.settings import TEST_TERRITORIES, suffixed_url
for suffix, (crs, tz) in TEST_TERRITORIES.items():
    print(suffixed_url(sys.argv[1], "_" + suffix), crs, tz, sep="|")' "$TEST_DATABASE_URL")
fi
for entry in "${urls[@]}"; do
  IFS='|' read -r url crs tz <<< "$entry"
  territory=()
  [ -n "$crs" ] && territory=(env "OVA_STORAGE_CRS=$crs" "OVA_TIMEZONE=$tz")
  dbname=$("$VENV/bin/python" -c 'import sys; from sqlalchemy.engine import make_url; print(make_url(sys.argv[1]).database)' "$url")
  if [ -n "$local_server" ]; then
    # Local server: create the database and PostGIS as the postgres superuser.
    exists=$(as_postgres psql -XAtq -h /var/run/postgresql -c "SELECT 1 FROM pg_database WHERE datname = '$dbname'")
    [ "$exists" = 1 ] || as_postgres createdb -h /var/run/postgresql -O ova "$dbname"
    as_postgres psql -XAtq -h /var/run/postgresql -d "$dbname" -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
  elif ! "$VENV/bin/python" scripts/provision_db.py "$url"; then
    # The URL's role may not create extensions; on this machine's own server the local postgres
    # superuser can (a server elsewhere needs its administrator: the message above says so).
    host=$("$VENV/bin/python" -c 'import sys; from sqlalchemy.engine import make_url; print(make_url(sys.argv[1]).host or "")' "$url")
    case "$host" in 127.0.0.1|localhost|::1|"") ;; *) exit 1 ;; esac
    say "database $dbname: CREATE EXTENSION postgis as the local postgres superuser"
    as_postgres psql -XAtq -h /var/run/postgresql -d "$dbname" -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
  fi
  say "database $dbname: migrating"
  if ! DATABASE_URL=$url "${territory[@]}" "$VENV/bin/ova" db upgrade; then
    # A test database is disposable: one left by another checkout (a revision this code does not
    # know, a half-applied branch) is recreated rather than failing the suite.  Never the demo's.
    host=$("$VENV/bin/python" -c 'import sys; from sqlalchemy.engine import make_url; print(make_url(sys.argv[1]).host or "")' "$url")
    case "$purpose:$host" in test:127.0.0.1|test:localhost|test:::1|test:) ;; *) exit 1 ;; esac
    say "database $dbname: schema from another checkout, recreating it"
    as_postgres dropdb -h /var/run/postgresql "$dbname"   # refused while a suite uses it
    as_postgres createdb -h /var/run/postgresql -O ova "$dbname"
    as_postgres psql -XAtq -h /var/run/postgresql -d "$dbname" -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
    DATABASE_URL=$url "${territory[@]}" "$VENV/bin/ova" db upgrade
  fi
  DATABASE_URL=$url "${territory[@]}" "$VENV/bin/ova" seed
done

{ echo "export DATABASE_URL='$DATABASE_URL'"; [ -n "${TEST_DATABASE_URL:-}" ] && echo "export TEST_DATABASE_URL='$TEST_DATABASE_URL'"; } > "var/$purpose.env"
say "ready ($purpose)"
