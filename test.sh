#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine with the .NET SDK: installs what the end-to-end tests drive
# (swaks, dnsmasq, postfix's smtp-sink, dkimverify, PostgreSQL 15, headless chromium), builds, runs every test project, and ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"

need=()
command -v swaks >/dev/null 2>&1 || need+=(swaks)
[ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)                                # the delivery tests' DNS
command -v smtp-sink >/dev/null 2>&1 || [ -x /usr/sbin/smtp-sink ] || need+=(postfix) # smtp-sink, smtp-source
command -v dkimverify >/dev/null 2>&1 || need+=(python3-dkim)                    # verifies Beacon's DKIM signatures
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)              # the PostgreSQL event store's tests
[ -x /usr/bin/chromium ] || need+=(chromium)                                     # the dashboard's browser test (headless)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  postfix=""
  [[ " ${need[*]} " == *" postfix "* ]] && postfix=yes
  # Only postfix's tools are wanted: "No configuration" installs without questions and without a main.cf.
  [ -z "$postfix" ] || echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null \
    || { echo "test.sh: could not install ${need[*]}"; echo "0 passed, 1 failed"; exit 1; }
  # If the package started the system's postfix anyway, stop it: nothing here may hold port 25.
  if [ -n "$postfix" ] && $sudo /usr/sbin/postfix status >/dev/null 2>&1; then
    $sudo /usr/sbin/postfix stop >/dev/null 2>&1 || true
  fi
  # The tests start their own PostgreSQL in a temp directory; the package's cluster must not keep running.
  if [[ " ${need[*]} " == *" postgresql-15 "* ]] && command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters -h 2>/dev/null | while read -r version cluster _ status _; do
      [ "$status" = online ] && $sudo pg_ctlcluster "$version" "$cluster" stop >/dev/null 2>&1 || true
    done
  fi
fi

log=$(mktemp)
dotnet build Beacon.slnx -c Release -warnaserror 2>&1 | tail -n 3
if [ "${PIPESTATUS[0]}" -ne 0 ]; then echo "0 passed, 1 failed"; exit 1; fi
dotnet test Beacon.slnx -c Release --no-build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# "Passed!  - Failed:     0, Passed:    57, Skipped:     0, Total:    57" per test assembly.
read -r passed failed < <(grep -E '(Passed|Failed)!' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+).*/\2 \1/' \
  | awk '{p+=$1; f+=$2} END {print p+0, f+0}')
rm -f "$log"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
