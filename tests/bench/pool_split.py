#!/usr/bin/env python3
# The policy pool apart from the provider pool, measured: the latency of
# requests refused by the bundled policy-terms (a policy check, no
# provider call) on an idle gateway, then while 64 provider calls are stuck
# on an upstream that accepts the connection and never answers (every slot
# of the default provider pool). Python's standard library only.
#
#   cargo build --release && cargo test --workspace --no-run   # the gateway and the sandbox test guest
#   python3 tests/bench/pool_split.py target/release/imini \
#       target/guests/wasm32-wasip2/guest/sandbox_guest.wasm tests/guests/sandbox/imini-plugin.toml
#
# N (default 400) sets how many refused requests each phase measures, one at a time.
import json, os, socket, subprocess, sys, tempfile, threading, time, urllib.request, statistics

BIN = os.path.abspath(sys.argv[1])
WASM, MANIFEST = os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
N = int(os.environ.get("N", "400"))

# An upstream that never answers.
stuck = socket.socket(); stuck.bind(("127.0.0.1", 0)); stuck.listen(512)
held = []
def accept():
    while True:
        c, _ = stuck.accept(); held.append(c)
threading.Thread(target=accept, daemon=True).start()
port = stuck.getsockname()[1]

d = tempfile.mkdtemp()
cfg = os.path.join(d, "imini.toml")
open(cfg, "w").write(f'''
[limits]
requests_per_minute = 1000000
max_concurrent_tasks = 10000
[[plugins]]
wasm = "{WASM}"
manifest = "{MANIFEST}"
[credentials.sandbox-test]
value = "t"
[plugin_settings.sandbox]
call_timeout_ms = 120000
allowed_hosts = ["127.0.0.1:{port}"]
[plugin_settings.sandbox.config]
stuck_url = "http://127.0.0.1:{port}/never"
[prices."test/stuck"]
per_image = 1
''')
env = dict(os.environ, IMINI_ADMIN_KEY="sk-admin-measure", RUST_LOG="warn")
p = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(d, "data"), "--config", cfg], env=env, stdout=subprocess.PIPE, text=True)
base = None
for line in p.stdout:
    if line.startswith("imini listening on "):
        base = line.strip().split("imini listening on ")[1]; break
H = {"Authorization": "Bearer sk-admin-measure", "Content-Type": "application/json"}
def post(path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers=H, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=200) as r: return r.status
    except urllib.error.HTTPError as e: return e.code
def refused_latencies(n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        s = post("/v1/images/generations", {"model": "imini/canvas-image", "prompt": "extreme gore, dismembered bodies", "size": "64x64"})
        out.append((time.perf_counter() - t) * 1000)
        assert s == 400, s
    return out
def report(name, xs):
    xs = sorted(xs)
    print(f"{name}: n={len(xs)} p50={statistics.median(xs):.2f} ms p99={xs[int(len(xs)*0.99)-1]:.2f} ms max={xs[-1]:.2f} ms")
refused_latencies(50)
report("idle", refused_latencies(N))
# 64 stuck provider calls (native API: 202 at once, the task's call hangs).
for _ in range(64):
    s = post("/v1/images/generate", {"model": "test/stuck", "prompt": "x", "size": "64x64"})
    assert s in (200, 202), s
time.sleep(2)
print("stuck upstream connections:", len(held))
report("64 stuck provider calls", refused_latencies(N))
p.terminate()
p.wait()
import shutil
shutil.rmtree(d, ignore_errors=True)
