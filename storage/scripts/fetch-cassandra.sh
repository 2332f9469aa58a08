#!/usr/bin/env bash
# Fetches Apache Cassandra 5.0 (cassandra-all and its dependencies, from Maven Central) for the
# storage tests of the ScyllaDB backend, which start a real Cassandra node themselves
# (storage/src/testkit/cassandra.rs). Installs Java 17 and Maven from Debian's packages when
# missing. Idempotent: does nothing when the jars are there already.
#
# Usage: storage/scripts/fetch-cassandra.sh
# Environment: TALLY_CASSANDRA_LIB (default: target/cassandra/lib of the workspace), where the
# jars land and where the test fixture looks for them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
workspace="$(cd "$here/../.." && pwd)"
lib="${TALLY_CASSANDRA_LIB:-$workspace/target/cassandra/lib}"

if compgen -G "$lib/cassandra-all-*.jar" >/dev/null && compgen -G "$lib/jamm-*.jar" >/dev/null; then
    echo "Cassandra jars found in $lib"
    exit 0
fi

if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "fetch-cassandra.sh: java and mvn are needed; install openjdk-17-jre-headless and" \
            "maven (as root: apt-get install -y openjdk-17-jre-headless maven)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends openjdk-17-jre-headless maven
fi

mkdir -p "$lib"
# Into a fresh directory first, so that an interrupted fetch never looks complete.
partial="$lib.partial"
rm -rf "$partial"
mvn -q -B -f "$here/cassandra/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$partial" -DincludeScope=runtime
rm -rf "$lib"
mv "$partial" "$lib"
echo "Cassandra jars fetched into $lib"
