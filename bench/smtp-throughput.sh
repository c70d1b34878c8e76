#!/usr/bin/env bash
# SMTP injection throughput: postfix's smtp-sink (accepts and discards, the ceiling of what smtp-source can
# push through loopback on this machine) against Beacon (accepts, every message durable in its spool before the 250), driven
# by the same smtp-source command. Prints messages/second for both and the ratio Beacon/smtp-sink, and checks
# that Beacon's spool holds every message afterwards. See docs/performance.md for results.
#
# Usage: bench/smtp-throughput.sh
# Environment: MESSAGES (20000), SESSIONS (20), SIZE (10240 payload octets), ROUNDS (1; each round measures
# smtp-sink then Beacon), WARMUP (0; messages sent to each server before the clock starts, so that the number
# is the steady state and not .NET's JIT warm-up; the spool check then expects WARMUP + MESSAGES), SOURCE_OPTS (extra smtp-source flags, e.g. "-d" to reuse each connection),
# BENCH_DIR (where the temporary spool lives; default $TMPDIR or /tmp; put it on the disk you want to measure).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

messages=${MESSAGES:-20000}
sessions=${SESSIONS:-20}
size=${SIZE:-10240}
rounds=${ROUNDS:-1}
warmup=${WARMUP:-0}
source_opts=${SOURCE_OPTS:-}

log() { echo "smtp-throughput: $*" >&2; }
die() { log "$*"; exit 1; }

# smtp-source and smtp-sink come with postfix. Installing it only puts the binaries in place here; the
# postfix daemon is not needed (Debian may start it, on port 25, which this script never uses).
if ! command -v smtp-source >/dev/null 2>&1 || ! command -v smtp-sink >/dev/null 2>&1; then
  log "installing postfix (for smtp-source and smtp-sink)"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postfix >/dev/null || die "could not install postfix"
fi
PATH=$PATH:/usr/sbin
command -v smtp-source >/dev/null 2>&1 || die "smtp-source not found after installing postfix"

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/beacon-bench.XXXXXX")
server_pid=""

# Stops whatever server is running: SIGTERM, up to 15 s for a clean stop, then SIGKILL.
stop_server() {
  local pid=$server_pid
  server_pid=""
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "process $pid ignored SIGTERM for 15 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# Data dirs stay until the end: on ext4 without a journal, creating files soon after deleting thousands costs
# several times more kernel CPU (the inode allocator skips recently deleted inodes).
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A monotonic clock in seconds. Time::HiRes comes with Debian's perl; /proc/uptime (CLOCK_BOOTTIME, 10 ms) is
# the fallback, plenty for runs that last seconds.
now() {
  perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e 'printf "%.6f\n", clock_gettime(CLOCK_MONOTONIC)' 2>/dev/null \
    || awk '{print $1}' /proc/uptime
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A loopback port nobody listens on.
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 30000))
    if ! port_open "$port"; then
      echo "$port"
      return 0
    fi
  done
  die "no free loopback port found in 100 tries"
}

# CPU seconds (user + system) a process has used so far.
cpu_seconds() {
  awk -v tck="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / tck }' "/proc/$1/stat" 2>/dev/null || echo "?"
}

# Sends COUNT messages to a port with smtp-source.
source_to() {
  local port=$1 count=$2
  # shellcheck disable=SC2086 # SOURCE_OPTS is a list of flags.
  smtp-source $source_opts -s "$sessions" -m "$count" -l "$size" -f a@example.org -t b@example.com "127.0.0.1:$port" \
    >"$work/source.log" 2>&1 || { cat "$work/source.log" >&2; die "smtp-source failed against port $port"; }
}

# Warms the server up (WARMUP messages, not timed), then times MESSAGES messages; prints the seconds.
drive() {
  local port=$1 started ended
  [ "$warmup" -eq 0 ] || source_to "$port" "$warmup"
  started=$(now)
  source_to "$port" "$messages"
  ended=$(now)
  awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.3f\n", b - a }'
}

rate() { awk -v n="$messages" -v s="$1" 'BEGIN { printf "%.0f\n", n / s }'; }

log "building Beacon (Release)"
dotnet build -c Release src/Beacon.Server -nologo -v q >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; die "build failed"; }
beacon_dll="$repo/src/Beacon.Server/bin/Release/net10.0/beacon.dll"
[ -f "$beacon_dll" ] || die "$beacon_dll not found after the build"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo) RAM, spool on $(df -P "$work" | awk 'NR == 2 {print $1}') ($(findmnt -no FSTYPE -T "$work" 2>/dev/null | head -n 1))"
echo "load: smtp-source $source_opts -s $sessions -m $messages -l $size ($((messages * size / 1048576)) MB of payload), after $warmup untimed warm-up messages"
echo "other load: measure on an idle machine; the 1-minute load average before each run is shown (2+ means busy)"
printf '%-5s  %-10s  %9s  %9s  %12s  %5s\n' round server seconds 'msg/s' 'server CPU s' load

for round in $(seq "$rounds"); do
  # The ceiling: smtp-sink accepts every message and throws it away.
  port=$(free_port)
  smtp-sink -u nobody "127.0.0.1:$port" 256 >"$work/sink.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do port_open "$port" && break; sleep 0.1; done
  port_open "$port" || { cat "$work/sink.log" >&2; die "smtp-sink did not listen on $port within 10 s"; }
  load=$(cut -d ' ' -f 1 /proc/loadavg)
  sink_seconds=$(drive "$port")
  sink_cpu=$(cpu_seconds "$server_pid")
  stop_server
  sink_rate=$(rate "$sink_seconds")
  printf '%-5s  %-10s  %9s  %9s  %12s  %5s\n' "$round" smtp-sink "$sink_seconds" "$sink_rate" "$sink_cpu" "$load"

  # Beacon, fresh data dir each round, default configuration (every commit synced to disk before its 250); delivery suspended, so
  # that this measures accepting into the spool, and the spool check below finds every message.
  data="$work/data-$round"
  port=$(free_port)
  : >"$work/beacon.log" # exists before the wait loop greps it, however late the server starts
  dotnet "$beacon_dll" run --data "$data" --set "smtp:listeners:0:listen=127.0.0.1:$port" --set "engagement_tracker:listen=127.0.0.1:0" \
    --set "api:listen=127.0.0.1:0" --set delivery:suspended=true >"$work/beacon.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do grep -q 'listening on' "$work/beacon.log" && break; kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  grep -q 'listening on' "$work/beacon.log" || { cat "$work/beacon.log" >&2; die "Beacon did not start within 30 s"; }
  load=$(cut -d ' ' -f 1 /proc/loadavg)
  beacon_seconds=$(drive "$port")
  beacon_cpu=$(cpu_seconds "$server_pid")
  stop_server
  beacon_rate=$(rate "$beacon_seconds")
  printf '%-5s  %-10s  %9s  %9s  %12s  %5s\n' "$round" beacon "$beacon_seconds" "$beacon_rate" "$beacon_cpu" "$load"

  # "20000 messages, 20000 recipients waiting"
  summary=$(dotnet "$beacon_dll" queue list --data "$data" | tail -n 1)
  spooled=${summary%% *}
  [ "$spooled" = "$((warmup + messages))" ] || die "round $round: Beacon's spool holds '$summary', expected $((warmup + messages)) messages"
  grep -E ' (fail|crit|error):' "$work/beacon.log" >&2 && die "round $round: Beacon logged errors"
  echo "round $round: ratio beacon/smtp-sink $(awk -v b="$beacon_rate" -v s="$sink_rate" 'BEGIN { printf "%.2f", b / s }'); spool check: $summary"
done
