#!/usr/bin/env bash
# The Java driver: builds it with Maven (dependencies from Maven Central into the Maven local
# repository, ~/.m2 unless MAVEN_REPO_LOCAL names another) and runs it against WS_URL. Prints
# one PASS/FAIL line per step, then RESULT PASS or RESULT FAIL; exits non-zero on any failure.
#
# Usage: conformance/java/run.sh ws://127.0.0.1:PORT/ws-api/v3
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 WS_URL" >&2
  exit 2
fi
url=$1
here=$(cd "$(dirname "$0")" && pwd)
key="$here/../../mock-server/keys/demo-ed25519-private.pem"
java=${JAVA_HOME:+$JAVA_HOME/bin/}java

# Build only when the jar is missing or older than a source: a warm run skips Maven.
jar="$here/target/driver.jar"
if [ ! -f "$jar" ] || [ -n "$(find "$here/pom.xml" "$here/src" -newer "$jar" -print -quit)" ]; then
  maven=(mvn -q -B -Dstyle.color=never -f "$here/pom.xml")
  if [ -n "${MAVEN_REPO_LOCAL:-}" ]; then
    maven+=("-Dmaven.repo.local=$MAVEN_REPO_LOCAL")
  fi
  # Maven's own output goes to stderr: stdout is the driver's lines only.
  timeout 900 "${maven[@]}" package >&2
fi

# Every wait inside has a 5 s deadline; this bounds the whole run if the JVM itself hangs.
exec timeout 120 "$java" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -jar "$jar" "$url" "$key"
