#!/bin/bash
# PostgreSQL 15 anchor for the CSV import benchmark: how fast does a stock PostgreSQL
# load the same customer file with COPY, into a table with the same columns and the
# indexes the import maintains (btree on phone, GIN on the tags array)?
#
#   bench/import/pg_copy.sh FILE.csv [ENCODING]     (ENCODING: UTF8 default, or GB18030)
#
# Creates a throwaway cluster in a temp dir as the unprivileged user "nobody" (we run
# as root), listening on a unix socket in that dir only (no TCP), times one
# `COPY customers FROM 'FILE' (FORMAT csv, HEADER)`, prints figures as key=value with
# pg_copy_rows_per_s=<n>, then "RESULT pg_copy_rows_per_s=<n>" on the last line; stops and removes the cluster.
# COPY stops at the first bad row (PostgreSQL 15 has no ON_ERROR), so feed it a file
# generated without defects (gen_customers.py with no --*-rate options).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
RUN_AS=${RUN_AS:-nobody}
csv=${1:?usage: pg_copy.sh FILE.csv [UTF8|GB18030]}
encoding=${2:-UTF8}
csv=$(realpath "$csv")

tmp=$(mktemp -d /tmp/waihu-pgcopy.XXXXXX)
started=0
cleanup() {
    if [ "$started" = 1 ]; then
        runuser -u "$RUN_AS" -- "$PGBIN/pg_ctl" -D "$tmp/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
chown "$RUN_AS" "$tmp"
chmod 700 "$tmp"

# The server reads the file itself: give it a copy it can read if needed.
if ! runuser -u "$RUN_AS" -- test -r "$csv"; then
    cp "$csv" "$tmp/input.csv"
    chown "$RUN_AS" "$tmp/input.csv"
    csv=$tmp/input.csv
fi

as() { runuser -u "$RUN_AS" -- "$@"; }
as "$PGBIN/initdb" -D "$tmp/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1 \
    || { cat "$tmp/initdb.log"; exit 1; }
as "$PGBIN/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w \
    -o "-c listen_addresses='' -c unix_socket_directories='$tmp'" start >/dev/null \
    || { cat "$tmp/server.log"; exit 1; }
started=1
psql() { as "$PGBIN/psql" -h "$tmp" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 "$@"; }

psql <<'SQL'
CREATE TABLE customers (
    name         text NOT NULL,
    phone        text NOT NULL,
    email        text,
    city         text,
    address      text,
    industry     text,
    company_size integer,
    signup_date  timestamp,
    budget       numeric(14, 2),
    notes        text,
    tags_raw     text,
    -- "a;b;c" or "a|b|c" as an array, computed by COPY like our import splits tags.
    tags         text[] GENERATED ALWAYS AS (regexp_split_to_array(lower(tags_raw), '[;|]')) STORED
);
CREATE INDEX customers_phone ON customers (phone);
CREATE INDEX customers_tags ON customers USING gin (tags);
SQL

t0=$(date +%s.%N)
out=$(psql -c "COPY customers (name, phone, email, city, address, industry, company_size,
                               signup_date, budget, notes, tags_raw)
               FROM '$csv' WITH (FORMAT csv, HEADER true, ENCODING '$encoding')")
t1=$(date +%s.%N)
rows=$(psql -t -A -c "SELECT count(*) FROM customers")
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
echo "pg_version=$("$PGBIN/postgres" --version | awk '{print $3}')"
echo "file=$csv"
echo "bytes=$(stat -c %s "$csv")"
echo "rows=$rows"
printf 'pg_copy_seconds=%.3f\n' "$secs"
echo "table_size=$(psql -t -A -c "SELECT pg_size_pretty(pg_total_relation_size('customers'))")"
awk -v r="$rows" -v s="$secs" 'BEGIN { printf "pg_copy_rows_per_s=%.0f\n", r / s }'
awk -v r="$rows" -v s="$secs" 'BEGIN { printf "RESULT pg_copy_rows_per_s=%.0f\n", r / s }'
