#!/usr/bin/env bash
# Tracker throughput: wrk against a click link (/f/{token}) on `beacon run` (opens the token, redirects, records
# a click event into the event store) and against nginx answering `return 302` from a private configuration (the
# ceiling: no token, no event), in the same run, with the same load. Prints requests/s and p99 latency for both
# and the ratio Beacon/nginx, and counts the click events Beacon wrote. See docs/performance.md for results.
#
# Usage: bench/tracker-throughput.sh
# Environment: CONNECTIONS (64), THREADS (2, wrk's), DURATION (15, seconds measured), WARMUP (5, seconds of
# load before the measured run, so JIT compilation and tiering are done), BENCH_DIR (temporary files; default
# $TMPDIR or /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
duration=${DURATION:-15}
warmup=${WARMUP:-5}

log() { echo "tracker-throughput: $*" >&2; }
die() { log "$*"; exit 1; }

PATH=$PATH:/usr/sbin
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null || die "could not install ${missing[*]}"
fi

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/beacon-tracker-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 30000))
    port_open "$port" || { echo "$port"; return 0; }
  done
  die "no free loopback port found in 100 tries"
}
wait_port() {
  for _ in $(seq 300); do port_open "$1" && return 0; sleep 0.1; done
  die "nothing listens on port $1 after 30 s"
}

# Runs wrk against URL (warm-up, then the measured run); prints "requests/s p99-ms total-requests".
measure() {
  local url=$1 name=$2
  [ "$warmup" -eq 0 ] || wrk -t"$threads" -c"$connections" -d"${warmup}s" "$url" >"$work/$name-warmup.txt"
  wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "$url" >"$work/$name.txt"
  cat "$work/$name.txt" >&2
  awk '
    /Requests\/sec:/ { rps = $2 }
    /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); p99 = v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); p99 = v } else if (v ~ /s$/) { sub(/s$/, "", v); p99 = v * 1000 } }
    /requests in/ { total = $1 }
    END { printf "%.0f %.2f %d\n", rps, p99, total }' "$work/$name.txt"
}

log "building Beacon (Release)"
dotnet build -c Release src/Beacon.Server -nologo -v q >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; die "build failed"; }
beacon_dll="$repo/src/Beacon.Server/bin/Release/net10.0/beacon.dll"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo) RAM; wrk -t$threads -c$connections -d${duration}s (after ${warmup}s warm-up); $(nginx -v 2>&1)"

# nginx: a private configuration in the temporary directory, nothing of the system's.
nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 302 http://example.com/; }
  }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)
wait_port "$nginx_port"

# Beacon: the embedded defaults, the tracker on a free port. Every request comes from 127.0.0.1, so the
# per-address rate limit (which would stop recording, not answering) is turned off to measure recording.
beacon_port=$(free_port)
data="$work/data"
dotnet "$beacon_dll" run --data "$data" --set "smtp:listeners:0:listen=127.0.0.1:0" \
  --set "engagement_tracker:listen=127.0.0.1:$beacon_port" --set "engagement_tracker:rate_limit_per_minute=0" --set "api:listen=127.0.0.1:0" >"$work/beacon.log" 2>&1 &
pids+=($!)
beacon_pid=$!
wait_port "$beacon_port"

# A real link, sealed with the running node's keyring (the keyring file is shared; sealing needs no server).
url=$(dotnet "$beacon_dll" link encode --data "$data" --target "https://shop.example.com/sale?utm_source=email&utm_campaign=spring" \
  --recipient jane.doe@example.com --campaign-id spring --link-name hero --transmission-id 65832146450776065 \
  --tracking-domain "127.0.0.1:$beacon_port")
log "link: $url"
status=$(curl -s -o /dev/null -w '%{http_code}' "$url")
[ "$status" = 302 ] || die "the link answers $status, not 302"

read -r nginx_rps nginx_p99 nginx_total < <(measure "http://127.0.0.1:$nginx_port/f/x" nginx)
read -r beacon_rps beacon_p99 beacon_total < <(measure "$url" beacon)

# The journal has every click by now; the store indexes it when the burst has passed (events.max_index_lag_seconds),
# so it catches up after the run. Wait for it (up to 5 minutes, and while it makes progress at least every 45 s:
# longer than the lag limit), report how long that took, then stop Beacon cleanly.
requests=$((beacon_total + 1))
[ "$warmup" -eq 0 ] || requests=$((requests + $(awk '/requests in/ { print $1 }' "$work/beacon-warmup.txt")))
stored() { sqlite3 "$data/events/events.db" "SELECT COUNT(*) FROM events WHERE type = 'click'" 2>/dev/null || echo 0; }
caught_up=0
previous=-1
stalled=0
while [ "$caught_up" -lt 300 ] && [ "$stalled" -lt 45 ]; do
  now=$(stored)
  [ "$now" -lt "$requests" ] || break
  if [ "$now" = "$previous" ]; then stalled=$((stalled + 1)); else stalled=0; fi
  previous=$now
  sleep 1
  caught_up=$((caught_up + 1))
done
kill -TERM "$beacon_pid"
wait "$beacon_pid" 2>/dev/null || true
clicks=$(sqlite3 "$data/events/events.db" "SELECT COUNT(*) FROM events WHERE type = 'click'" 2>/dev/null || echo "? (sqlite3 missing)")
distinct=$(sqlite3 "$data/events/events.db" "SELECT COUNT(DISTINCT json_extract(json, '$.msys.track_event.event_id')) FROM events JOIN event_json USING (sequence) WHERE type = 'click'" 2>/dev/null || echo "?")
dropped=$(grep -c 'event pipeline is full' "$work/beacon.log" || true)

printf '\n%-8s %12s %10s\n' server requests/s p99-ms
printf '%-8s %12s %10s\n' nginx "$nginx_rps" "$nginx_p99" beacon "$beacon_rps" "$beacon_p99"
echo "ratio beacon/nginx: $(awk -v b="$beacon_rps" -v n="$nginx_rps" 'BEGIN { printf "%.2f", b / n }')"
echo "the store caught up with the journal ${caught_up} s after the run"
echo "click events written: $clicks ($distinct distinct event ids) of $requests requests (warm-up, check and measured run); pipeline-full warnings logged: $dropped"
