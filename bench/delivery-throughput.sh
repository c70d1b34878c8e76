#!/usr/bin/env bash
# Delivery throughput, end to end: smtp-source → MTA → smtp-sink, for Beacon (spool fsync on, open and click
# tracking on, delivering to a smarthost) and for Postfix (a private instance relaying to the same smtp-sink), in
# the same run. The clock runs from the first injection until smtp-sink has counted every message, so it
# measures accepting, queueing, rewriting and delivering. Prints messages/second for both and the ratio
# Beacon/Postfix. Target: Beacon at least as fast as Postfix. See docs/performance.md for results.
#
# The message is an HTML part of about SIZE octets with a few links (smtp-source -F sends the file as the message),
# so Beacon's tracking inserts a pixel and rewrites links. Before the clock starts, each side gets WARMUP untimed
# messages into an smtp-sink that keeps a copy, and the script checks that copy: Postfix delivered the message,
# Beacon delivered it with tracked links. Then smtp-sink restarts on the same port without copying, for the
# timed MESSAGES.
#
# Usage: sudo bench/delivery-throughput.sh (root: the private Postfix's master runs as root, as Postfix's does)
# Environment: MESSAGES (10000), SESSIONS (20 smtp-source sessions), SIZE (10240 octets of message), WARMUP (500),
# SIDES ("postfix beacon"; "postfix" measures Postfix alone), TIMEOUT (600 s per timed run),
# BENCH_DIR (where queues live; default $TMPDIR or /tmp; put it on the disk you want to measure), KEEP (set: keep
# the work directory with the logs and Postfix's maillog).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

messages=${MESSAGES:-10000}
sessions=${SESSIONS:-20}
size=${SIZE:-10240}
warmup=${WARMUP:-500}
sides=${SIDES:-postfix beacon}
timeout=${TIMEOUT:-600}
tracking_domain=track.bench.example

log() { echo "delivery-throughput: $*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: the private Postfix instance's master runs as root"
[ "$warmup" -ge 1 ] || die "WARMUP must be at least 1: the warm-up's messages are what the script checks"
PATH=$PATH:/usr/sbin
for tool in smtp-source smtp-sink postfix postconf; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found: install postfix (test.sh does, without starting it)"
done

work=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/beacon-delivery.XXXXXX")
chmod 755 "$work" # Postfix's daemons (user postfix) and smtp-sink (user nobody) must reach their directories
sink_pid=""
server_pid=""
postfix_dir=""

# SIGTERM, up to 15 s for a clean stop, then SIGKILL.
stop_pid() {
  local pid=$1
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

stop_sink() { stop_pid "$sink_pid"; sink_pid=""; }

stop_postfix() {
  local dir=$postfix_dir master
  postfix_dir=""
  [ -n "$dir" ] || return 0
  master=$(postfix_master 2>/dev/null || true)
  postfix -c "$dir" stop >/dev/null 2>&1 || true
  # "postfix stop" returns before the master has gone; wait for it (it ends its children first).
  if [ -n "$master" ]; then
    for _ in $(seq 150); do
      kill -0 "$master" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$master" 2>/dev/null && { log "postfix master $master still running; killing it"; kill -KILL "$master" 2>/dev/null || true; }
  fi
  return 0
}

stop_server() { stop_pid "$server_pid"; server_pid=""; stop_postfix; }

cleanup() {
  stop_server
  stop_sink
  if [ -n "${KEEP:-}" ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() {
  perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e 'printf "%.6f\n", clock_gettime(CLOCK_MONOTONIC)' 2>/dev/null \
    || awk '{print $1}' /proc/uptime
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 what=$2
  for _ in $(seq 300); do port_open "$port" && return 0; sleep 0.1; done
  die "$what did not listen on $port within 30 s"
}

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

cpu_seconds() {
  awk -v tck="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / tck }' "/proc/$1/stat" 2>/dev/null || echo "?"
}

# CPU seconds of a whole process tree: Postfix is a master and its daemons, so count every descendant that is
# still alive (daemons that exited took their time with them: this is a lower bound, stated in the output).
tree_cpu_seconds() {
  local total=0 pid
  for pid in $1 $(pgrep -P "$1" 2>/dev/null || true); do
    total=$(awk -v a="$total" -v b="$(cpu_seconds "$pid")" 'BEGIN { print a + (b == "?" ? 0 : b) }')
  done
  echo "$total"
}

# The HTML message smtp-source sends with -F: headers, then paragraphs up to about SIZE octets, every fourth with a link.
write_message() {
  local file=$1 i=0
  printf 'From: Bench <a@example.org>\nTo: <b@example.com>\nSubject: delivery benchmark\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n<html><body>\n<h1>Delivery benchmark</h1>\n' >"$file"
  while [ "$(stat -c %s "$file")" -lt "$((size - 300))" ]; do
    i=$((i + 1))
    if [ $((i % 4)) = 1 ]; then
      printf '<p>Paragraph %d with <a href="https://www.example.com/offer/%d?utm_source=bench">a link to offer %d</a>.\n' "$i" "$i" "$i" >>"$file"
    else
      printf '<p>Paragraph %d.\n' "$i" >>"$file"
    fi
    printf 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et\ndolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip.</p>\n' >>"$file"
  done
  printf '</body></html>\n' >>"$file"
}

# smtp-sink -c prints "sess=N quit=N mesg=N" records, each ended by CR, after every message: the last complete one.
sink_count() {
  local line n=0
  while IFS= read -r line; do
    [[ $line =~ mesg=([0-9]+) ]] && n=${BASH_REMATCH[1]}
  done < <(tail -c 200 "$work/sink.out" 2>/dev/null | tr '\r' '\n')
  echo "$n"
}

# smtp-sink on SINK_PORT, counting; with a dump file when given (the warm-up's copy of every message).
start_sink() {
  local dump=${1:-}
  : >"$work/sink.out"
  if [ -n "$dump" ]; then
    smtp-sink -c -u nobody -D "$dump" "127.0.0.1:$sink_port" 256 >"$work/sink.out" 2>"$work/sink.err" &
  else
    smtp-sink -c -u nobody "127.0.0.1:$sink_port" 256 >"$work/sink.out" 2>"$work/sink.err" &
  fi
  sink_pid=$!
  wait_port "$sink_port" smtp-sink
}

# Sends COUNT messages to PORT with smtp-source, in the background; sets source_pid.
source_to() {
  local port=$1 count=$2
  smtp-source -s "$sessions" -m "$count" -F "$work/message.eml" -f a@example.org -t b@example.com "127.0.0.1:$port" \
    >"$work/source.log" 2>&1 &
  source_pid=$!
}

# Waits until smtp-sink has counted COUNT messages (and smtp-source has ended); dies after LIMIT seconds.
wait_for_sink() {
  local count=$1 limit=$2 deadline
  deadline=$(awk -v n="$(now)" -v l="$limit" 'BEGIN { print n + l }')
  while [ "$(sink_count)" -lt "$count" ]; do
    if awk -v n="$(now)" -v d="$deadline" 'BEGIN { exit !(n > d) }'; then
      die "smtp-sink counted $(sink_count) of $count messages after $limit s"
    fi
    sleep 0.05
  done
  wait "$source_pid" || { cat "$work/source.log" >&2; die "smtp-source failed"; }
}

# The private Postfix: its own main.cf and master.cf, queue and data directories under $work, listening on
# 127.0.0.1:PORT, relaying everything from 127/8 to the sink; no local delivery, no DNS, no chroot.
start_postfix() {
  local port=$1
  # The configuration directory apart from the queue: postfix check wants everything under it owned by root.
  postfix_dir="$work/postfix/etc"
  mkdir -p "$postfix_dir" "$work/postfix/queue"
  cat >"$postfix_dir/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $work/postfix/queue
data_directory = $work/postfix/data
command_directory = $(postconf -dh command_directory)
daemon_directory = $(postconf -dh daemon_directory)
shlib_directory = $(postconf -dh shlib_directory)
meta_directory = $(postconf -dh meta_directory)
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-bench
maillog_file = $work/postfix/maillog
maillog_file_prefixes = $work/postfix
myhostname = postfix.bench.example
mydomain = bench.example
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:local delivery is disabled
relay_domains =
relayhost = [127.0.0.1]:$sink_port
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions =
smtp_dns_support_level = disabled
smtp_host_lookup = native
default_process_limit = 200
default_destination_concurrency_limit = 20
smtp_destination_concurrency_limit = 20
smtputf8_enable = no
biff = no
EOF
  cat >"$postfix_dir/master.cf" <<EOF
127.0.0.1:$port inet n - n - - smtpd
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
showq     unix n - n - - showq
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
  # "check" creates the queue and data directories with Postfix's ownership and modes.
  postfix_or_die check
  postfix_or_die start
  wait_port "$port" postfix
  server_pid=""
}

postfix_master() { tr -d ' ' <"$work/postfix/queue/pid/master.pid"; }

# postfix(1) prints its fatal errors only to a terminal (otherwise to the log): give it one when it fails.
postfix_or_die() {
  postfix -c "$postfix_dir" "$1" >/dev/null 2>&1 && return 0
  script -qec "postfix -c $postfix_dir $1" /dev/null >&2 || true
  tail -n 20 "$work/postfix/maillog" >&2 2>/dev/null || true
  die "postfix $1 failed"
}

# Beacon's configuration apart from the listener: tracking on (pixel and links), delivery to the sink as smarthost.
beacon_settings() {
  echo "--set smtpapi:open_tracking_enabled=true --set smtpapi:click_tracking_enabled=true" \
    "--set smtpapi:tracking_domain=$tracking_domain --set delivery:mode=smarthost --set delivery:smarthost=127.0.0.1:$1" \
    "--set engagement_tracker:listen=127.0.0.1:0 --set api:listen=127.0.0.1:0"
}

start_beacon() {
  local port=$1
  : >"$work/beacon.log"
  # shellcheck disable=SC2046 # the settings are words
  dotnet "$beacon_dll" run --data "$work/beacon-data" --set "smtp:listeners:0:listen=127.0.0.1:$port" \
    $(beacon_settings "$sink_port") >"$work/beacon.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do grep -q 'listening on' "$work/beacon.log" && break; kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  grep -q 'listening on' "$work/beacon.log" || { cat "$work/beacon.log" >&2; die "Beacon did not start within 30 s"; }
}

# One side: warm-up into a copying sink, check a copy, then the timed run into a plain sink. Prints the table row.
measure() {
  local side=$1 port started ended seconds cpu load dump="$work/dump-$1"
  port=$(free_port)
  sink_port=$(free_port)
  while [ "$sink_port" = "$port" ]; do sink_port=$(free_port); done
  mkdir -p "$dump" && chmod 777 "$dump"
  start_sink "$dump/messages"
  case $side in
    postfix) start_postfix "$port" ;;
    beacon) start_beacon "$port" ;;
  esac

  source_to "$port" "$warmup"
  wait_for_sink "$warmup" "$timeout"
  stop_sink
  case $side in
    postfix) grep -q 'href="https://www.example.com/offer/1?utm_source=bench"' "$dump/messages" \
      || die "postfix: the sink's copy does not hold the message's link" ;;
    beacon) grep -q "$tracking_domain" "$dump/messages" && ! grep -q 'href="https://www.example.com/offer/1?' "$dump/messages" \
      || die "beacon: the sink's copy has no tracked links (is tracking on?)" ;;
  esac
  rm -rf "$dump"

  start_sink
  load=$(cut -d ' ' -f 1 /proc/loadavg)
  started=$(now)
  source_to "$port" "$messages"
  wait_for_sink "$messages" "$timeout"
  ended=$(now)
  seconds=$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.3f", b - a }')
  case $side in
    postfix) cpu="$(tree_cpu_seconds "$(postfix_master)")+" ;;
    beacon) cpu=$(cpu_seconds "$server_pid") ;;
  esac
  stop_server
  stop_sink
  rate=$(awk -v n="$messages" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')
  printf '%-8s  %9s  %9s  %14s  %5s\n' "$side" "$seconds" "$rate" "$cpu" "$load"
  eval "${side}_rate=$rate"
}

write_message "$work/message.eml"
if [[ " $sides " == *" beacon "* ]]; then
  log "building Beacon (Release)"
  dotnet build -c Release src/Beacon.Server -nologo -v q >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; die "build failed"; }
  beacon_dll="$repo/src/Beacon.Server/bin/Release/net10.0/beacon.dll"
  [ -f "$beacon_dll" ] || die "$beacon_dll not found after the build"
  # The smarthost keys come with the delivery stage; say so plainly rather than fail later.
  # shellcheck disable=SC2046 # the settings are words
  dotnet "$beacon_dll" config check $(beacon_settings 25) >"$work/check.log" 2>&1 \
    || { cat "$work/check.log" >&2; die "this Beacon does not accept delivery.mode=smarthost yet; SIDES=postfix measures Postfix alone"; }
fi

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo) RAM, queues on $(df -P "$work" | awk 'NR == 2 {print $1}') ($(findmnt -no FSTYPE -T "$work" 2>/dev/null | head -n 1)); $(postconf -dh mail_version | sed 's/^/Postfix /')"
echo "load: smtp-source -s $sessions -m $messages -F message.eml ($(stat -c %s "$work/message.eml") octets of HTML, $(grep -c '<a href' "$work/message.eml") links), after $warmup untimed warm-up messages; clock: first injection to smtp-sink's count"
echo "other load: measure on an idle machine; the 1-minute load average before each run is shown (2+ means busy)"
printf '%-8s  %9s  %9s  %14s  %5s\n' server seconds 'msg/s' 'server CPU s' load
postfix_rate=""
beacon_rate=""
for side in $sides; do
  measure "$side"
done
if [ -n "$postfix_rate" ] && [ -n "$beacon_rate" ]; then
  echo "ratio beacon/postfix: $(awk -v b="$beacon_rate" -v p="$postfix_rate" 'BEGIN { printf "%.2f", b / p }') (target: 1.00 or more)"
fi
