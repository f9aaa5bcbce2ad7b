#!/usr/bin/env bash
# Install the Debian packages whose real programs the tests start, when missing: PostgreSQL,
# Chromium + its WebDriver for the dashboard's browser test, Java 17 for Spark's local mode
# (homerec[spark]) with PostgreSQL's JDBC driver (Spark reads the store through it), nginx
# (the deploy/ reverse proxy runs in front of two replicas on loopback) and systemd-analyze
# (the deploy/ unit files are verified).
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
[ -f /usr/share/java/postgresql.jar ] || need+=(libpostgresql-jdbc-java)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "please install: ${need[*]} (e.g. sudo apt-get install -y ${need[*]})" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi
