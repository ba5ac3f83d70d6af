"""Console render time (server side, from the gateway's access log) for an
account with 10,000 tasks, and the login time (client side).

Start a release gateway with `[accounts] signup = "open"` and a high
`[limits] requests_per_minute`, its log going to LOG, then:

    python3 tests/bench/console_bench.py http://127.0.0.1:PORT LOG ADMIN_KEY

It signs up through the console's forms (the confirmation link is read from
LOG), logs in four times, makes 10,000 generations of 64x64 canvas images
on one connection, then renders the overview and the task list 500 times
each, and the billing page (which reads the whole ledger) 50 times."""
import http.client, json, re, sys, time, urllib.parse

base, log_path, admin = sys.argv[1], sys.argv[2], sys.argv[3]
host = urllib.parse.urlparse(base).netloc
conn = http.client.HTTPConnection(host)

def req(method, path, body=None, headers=None):
    headers = dict(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body); headers["content-type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, dict(r.getheaders()), data

def form_cookie(h):
    m = re.search(r"imini_form=([0-9a-f]+)", h.get("set-cookie", ""))
    return m.group(1)

email, password = "bench@example.com", "a long enough passphrase"
s, h, body = req("GET", "/console/signup")
tok = form_cookie(h)
s, h, body = req("POST", "/console/signup", urllib.parse.urlencode({"csrf": tok, "email": email, "password": password}),
                 {"content-type": "application/x-www-form-urlencoded", "cookie": f"imini_form={tok}"})
assert s == 200, (s, body[:300])
time.sleep(0.5)
link = re.findall(re.escape(base) + r"/console/verify-email\?token=[A-Za-z0-9_\-]+", open(log_path).read())[-1]
s, h, body = req("GET", link[len(base):])
assert s == 200, s

def login():
    s, h, body = req("GET", "/console/login")
    tok = form_cookie(h)
    t = time.perf_counter()
    s, h, body = req("POST", "/console/login", urllib.parse.urlencode({"csrf": tok, "email": email, "password": password, "next": "/console"}),
                     {"content-type": "application/x-www-form-urlencoded", "cookie": f"imini_form={tok}"})
    took = time.perf_counter() - t
    assert s == 303, (s, body[:300])
    return re.search(r"imini_session=([^;]+)", h["set-cookie"]).group(1), took

session, _ = login()
logins = [login()[1] for _ in range(3)]
s, h, body = req("GET", "/console", headers={"cookie": f"imini_session={session}"})
account = re.search(rb'id="account-id">(acct_[0-9a-f]+)<', body).group(1).decode()
auth = {"authorization": f"Bearer {admin}"}
assert req("POST", f"/admin/v1/accounts/{account}/topup", {"credits": 1_000_000}, auth)[0] == 200
s, h, body = req("POST", f"/admin/v1/accounts/{account}/keys", {"name": "bench"}, auth)
key = json.loads(body)["secret"]
t = time.perf_counter()
for i in range(10_000):
    s, h, body = req("POST", "/v1/images/generations",
                     {"model": "imini/canvas-image", "prompt": f"a kite {i}", "size": "64x64", "response_format": "url"},
                     {"authorization": f"Bearer {key}"})
    assert s == 200, (s, body[:200])
print(f"10,000 generations in {time.perf_counter() - t:.1f} s")
def renders(path, route, n, marker):
    mark = len(open(log_path).read())
    for _ in range(n):
        s, h, body = req("GET", path, headers={"cookie": f"imini_session={session}"})
        assert s == 200 and marker in body, (s, body[:300])
    time.sleep(0.2)
    tail = open(log_path).read()[mark:]
    ms = sorted(float(x) for x in re.findall(r"route=" + route + r" status=200 duration_ms=([0-9.]+)", tail))
    def pct(p): return ms[min(len(ms) - 1, int(len(ms) * p))]
    print(f"{path}, 10,000 tasks, {len(ms)} renders: p50 {pct(0.5):.3f} ms, p99 {pct(0.99):.3f} ms, max {ms[-1]:.3f} ms (server side)")

renders("/console", r"/console/?", 500, b"Recent tasks")
renders("/console/tasks", r"/console/tasks", 500, b"kite")
renders("/console/billing", r"/console/billing", 50, b"usage-chart")
print("login (POST /console/login, client side): " + ", ".join(f"{x*1000:.1f} ms" for x in logins))
