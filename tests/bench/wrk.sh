#!/usr/bin/env bash
# What imini adds to an OpenAI image generation, measured with tools from
# outside the project: nginx as the mock upstream (answering an image URL,
# as OpenAI, Replicate and fal do, and serving that PNG) and as the floor
# (a plain keep-alive proxy_pass), and wrk (one thread) as the load
# generator. imini runs the production path: an account's key, rate
# limit, the durable credit hold and capture, the policy-terms policy on
# the request and the output, the openai-images plugin, the download and
# storage of the output, and its own signed URL in the answer.
#
#   cargo build --release && tests/bench/wrk.sh
#
# Environment: IMINI_BIN (default target/release/imini), CONNS (default
# "1 16 64"), PACED_RATES (default "50": paced runs, requests per second
# over 16 connections, each waiting a random exponential gap after every
# answer, so the offered load stays at the rate whatever the target's
# speed; empty for none), SECS (seconds per run, default 10), REPEATS (runs
# per cell; the median by req/s is reported, by p50 for paced runs;
# default 3), TARGETS (default "direct floor imini"; "imini" alone for a
# long run of the gateway, without added latency), IMINI_STORE_URL (run
# imini on PostgreSQL), EXTRA_CONFIG (TOML added to imini's
# configuration, to compare settings: e.g.
# "[plugin_settings.policy-terms.config] classifier = { enabled = false }"
# on two lines). Needs nginx, wrk, curl and python3 (installed with apt
# when missing). Uses 127.0.0.1 ports 18090-18092; stops what it started.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${IMINI_BIN:-$root/target/release/imini}
conns=${CONNS-1 16 64}
paced=${PACED_RATES-50}
secs=${SECS:-10}
repeats=${REPEATS:-3}
targets=${TARGETS:-direct floor imini}
mock=18090 floor=18091 gateway=18092

for tool in nginx wrk curl python3; do
  if ! command -v "$tool" >/dev/null; then
    pkg=$tool
    echo "installing $pkg (apt)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$pkg" >/dev/null ||
      { echo "wrk.sh needs $tool: install the Debian package $pkg" >&2; exit 1; }
  fi
done
[ -x "$bin" ] || { echo "no imini binary at $bin: run cargo build --release" >&2; exit 1; }
for port in $mock $floor $gateway; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is in use" >&2; exit 1
  fi
done

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT

# A 32x32 PNG for the mock to serve.
python3 - "$work/1.png" <<'PY'
import struct, sys, zlib
w = h = 32
rows = b"".join(b"\0" + b"".join(bytes((x * 8, y * 8, 160)) for x in range(w)) for y in range(h))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY

cat > "$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work;
  proxy_temp_path $work;
  upstream mock { server 127.0.0.1:$mock; keepalive 128; }
  server {
    listen 127.0.0.1:$mock;
    location = /v1/images/generations {
      default_type application/json;
      return 200 '{"created":1700000000,"data":[{"url":"http://127.0.0.1:$mock/img/1.png"}]}';
    }
    location = /img/1.png { alias $work/1.png; default_type image/png; }
  }
  server {
    listen 127.0.0.1:$floor;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
nginx -c "$work/nginx.conf" -p "$work"

cat > "$work/imini.toml" <<EOF
[credentials.openai]
value = "sk-bench"
[plugin_settings.openai-images]
allowed_hosts = ["127.0.0.1:$mock"]
[plugin_settings.openai-images.config]
base_url = "http://127.0.0.1:$mock/v1"
[prices."openai/dall-e-3"]
per_image = 1
[limits]
requests_per_minute = 60000000
max_concurrent_tasks = 100000
[moderation]
policies = ["policy-terms"]
EOF
if [ -n "${EXTRA_CONFIG:-}" ]; then
  printf '%s\n' "$EXTRA_CONFIG" >> "$work/imini.toml"
fi
admin="imini_admin_bench_$(date +%s%N)"
IMINI_ADMIN_KEY=$admin "$bin" serve --listen "127.0.0.1:$gateway" --data-dir "$work/data" \
  --config "$work/imini.toml" > "$work/imini.out" 2> "$work/imini.log" &
imini_pid=$!
pids+=("$imini_pid")
for _ in $(seq 100); do
  grep -q "imini listening" "$work/imini.out" 2>/dev/null && break
  sleep 0.1
done
grep -q "imini listening" "$work/imini.out" || { cat "$work/imini.log" >&2; exit 1; }

api() { curl -sf -H "authorization: Bearer $admin" -H 'content-type: application/json' "$@"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
account=$(api -d '{"email":"bench@example.com"}' "http://127.0.0.1:$gateway/admin/v1/accounts" | json "['id']")
api -d '{"credits":1000000000000}' "http://127.0.0.1:$gateway/admin/v1/accounts/$account/topup" >/dev/null
key=$(api -d '{"name":"bench"}' "http://127.0.0.1:$gateway/admin/v1/accounts/$account/keys" | json "['secret']")

cat > "$work/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.body = '{"model":"' .. os.getenv("BENCH_MODEL") .. '","prompt":"a lighthouse at dusk, watercolor","n":1,"size":"1024x1024"}'
-- Paced runs: each connection waits a random exponential gap (mean
-- BENCH_GAP_MS) before each request.
local gap = tonumber(os.getenv("BENCH_GAP_MS") or "0")
if gap > 0 then
  function delay()
    return -gap * math.log(1 - math.random())
  end
end
-- errors.status counts answers with a status of 400 or more.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %.1f %.1f\n", summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
EOF

cpu_ticks() { awk '{print $14 + $15}' "/proc/$imini_pid/stat"; }
run() { # url token model conns gap_ms -> "rps p50_ms p99_ms errors cpu_us"
  local url=$1 token=$2 model=$3 c=$4
  export BENCH_TOKEN=$token BENCH_MODEL=$model BENCH_GAP_MS=$5
  wrk -t1 -c"$c" -d2s -s "$work/post.lua" "$url" >/dev/null
  local before after line
  before=$(cpu_ticks)
  line=$(wrk -t1 -c"$c" -d"${secs}s" -s "$work/post.lua" "$url" | grep '^RESULT')
  after=$(cpu_ticks)
  python3 - "$line" "$secs" "$before" "$after" "$(getconf CLK_TCK)" <<'PY'
import sys
_, n, errors, p50, p99 = sys.argv[1].split()
secs, before, after, hz = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
n = int(n)
cpu = (after - before) / hz * 1e6 / max(n, 1)
print(f"{n / secs:.0f} {float(p50) / 1000:.3f} {float(p99) / 1000:.3f} {errors} {cpu:.0f}")
PY
}

echo "imini $("$bin" --version | awk '{print $2}'), $(nproc) cores, ${secs}s runs, median of $repeats by req/s"
echo "store: ${IMINI_STORE_URL:+PostgreSQL}${IMINI_STORE_URL:-embedded (fjall)}"
echo
echo "| conns | target | req/s | p50 ms | p99 ms | added p50 / p99 ms | errors | imini CPU µs/req |"
echo "|---:|---|---:|---:|---:|---|---:|---:|"
# One row per target of a cell: conns (or "paced N/s"), wrk connections,
# the gap between a connection's requests (0: closed loop), and which
# column the median is taken by (1: req/s, 2: p50).
cell() {
  local label=$1 c=$2 gap=$3 by=$4 target url token model results
  declare -A best=()
  for target in $targets; do
    case $target in
      direct) url="http://127.0.0.1:$mock/v1/images/generations" token=sk-bench model=dall-e-3 ;;
      floor) url="http://127.0.0.1:$floor/v1/images/generations" token=sk-bench model=dall-e-3 ;;
      imini) url="http://127.0.0.1:$gateway/v1/images/generations" token=$key model=openai/dall-e-3 ;;
    esac
    results=()
    for _ in $(seq "$repeats"); do results+=("$(run "$url" "$token" "$model" "$c" "$gap")"); done
    best[$target]=$(printf '%s\n' "${results[@]}" | sort -n -k"$by" | sed -n "$(( (repeats + 1) / 2 ))p")
  done
  local d_rps d_p50 d_p99 rps p50 p99 errors cpu added
  read -r d_rps d_p50 d_p99 _ _ <<< "${best[direct]:-- - - - -}"
  for target in $targets; do
    read -r rps p50 p99 errors cpu <<< "${best[$target]}"
    added="-"
    if [ "$target" != direct ] && [ -n "${best[direct]:-}" ]; then
      added=$(python3 -c "print(f'{$p50 - $d_p50:+.2f} / {$p99 - $d_p99:+.2f}')")
    fi
    [ "$target" = imini ] || cpu="-"
    echo "| $label | $target | $rps | $p50 | $p99 | $added | $errors | $cpu |"
  done
}
for c in $conns; do cell "$c" "$c" 0 1; done
for rate in $paced; do
  cell "paced $rate/s" 16 "$(python3 -c "print(16 * 1000 / $rate)")" 2
done
echo
# Every generation charged the account 1 credit: its balance counts them.
balance=$(curl -sf -H "authorization: Bearer $key" "http://127.0.0.1:$gateway/v1/account" | json "['credit_balance']")
generations=$((1000000000000 - balance))
echo "imini RSS: $(awk '/VmRSS/ {print $2 / 1024 " MB"}' "/proc/$imini_pid/status"), data dir: $(du -sh "$work/data" | cut -f1)"
if [ -z "${IMINI_STORE_URL:-}" ] && [ "$generations" -gt 0 ]; then
  db_bytes=$(du -sb "$work/data/store" | cut -f1)
  echo "generations: $generations, data/store: $db_bytes bytes, $((db_bytes / generations)) per generation"
fi
