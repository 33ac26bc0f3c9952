"""Tests of the client's pure parts: body builders, token file, Retry-After,
retry decisions, error mapping, the retry loop (with a scripted transport)
and how the TLS context is built (with certificates made by openssl).

Run: cd examples/zoe && python3 -m unittest
"""

import copy
import email.utils
import http.server
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import unittest
from typing import Any, Dict, List, Optional

import zoe_sidecar as zs
import zoe_state

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.dirname(HERE)


def load(*parts: str) -> Any:
    with open(os.path.join(EXAMPLES, *parts), "r", encoding="utf-8") as f:
        return json.load(f)


def proxied_only(execution: Dict[str, Any]) -> Dict[str, Any]:
    """A documented payload reduced to what the builders send: proxied
    ports only, services without one dropped, port names left out."""
    out = copy.deepcopy(execution)
    services = []
    for svc in out.get("services", []):
        ports = [p for p in svc["ports"] if p.get("proxy")]
        for p in ports:
            p.pop("name", None)
        if ports:
            services.append({"name": svc["name"], "ports": ports})
    out["services"] = services
    return out


def without_port_names(execution: Dict[str, Any]) -> Dict[str, Any]:
    out = copy.deepcopy(execution)
    for svc in out["services"]:
        for p in svc["ports"]:
            p.pop("name", None)
    return out


def zoe_execution(app: str, execution_id: Any, name: str, owner: str) -> zoe_state.Execution:
    return zoe_state.execution_from_zapp(execution_id, name, owner, load("zapps", app + ".json"))


def activate_like(execution: zoe_state.Execution, payload: Dict[str, Any]) -> None:
    """Publish every port where the documented start payload says it runs."""
    for svc in payload["services"]:
        for p in svc["ports"]:
            for port in execution.service(svc["name"]).ports:
                if port.internal_number == p["port_number"]:
                    port.activate(p["external_ip"], p["external_port"])


class BuilderTest(unittest.TestCase):
    """The bodies built from Zoe's objects match the documented payloads
    in examples/hooks (which the Go tests decode with the sidecar's types)."""

    def test_prepare_and_start_match_the_documented_payloads(self) -> None:
        cases = [("notebook", "42", "nb", "alice"), ("spark", 43, "spark-analysis", "bob")]
        for app, exec_id, name, owner in cases:
            with self.subTest(app=app):
                execution = zoe_execution(app, exec_id, name, owner)
                prepare = zs.prepare_body(execution)
                want = load("hooks", app + "-prepare.json")
                self.assertEqual(prepare["event"], "prepare")
                self.assertEqual(without_port_names(prepare["execution"]), proxied_only(want["execution"]))

                want = load("hooks", app + "-start.json")
                activate_like(execution, want["execution"])
                start = zs.start_body(execution)
                self.assertEqual(start["event"], "start")
                self.assertEqual(without_port_names(start["execution"]), proxied_only(want["execution"]))

    def test_port_fields_come_from_zoe_attributes(self) -> None:
        execution = zoe_execution("notebook", 7, "nb", "alice")
        port = execution.service("py-notebook0").ports[0]
        port.activate("10.0.0.5", 32001)
        body = zs.start_body(execution)["execution"]
        self.assertEqual(body, {
            "id": 7, "name": "nb", "owner": "alice",
            "services": [{"name": "py-notebook0", "ports": [{
                "port_number": 8888, "proxy": True, "name": "Jupyter Notebook interface",
                "protocol": "tcp", "url_template": "http://{ip_port}{proxy_path}",
                "external_ip": "10.0.0.5", "external_port": 32001}]}]})

    def test_start_leaves_out_unpublished_ports(self) -> None:
        execution = zoe_execution("spark", 43, "s", "bob")
        execution.service("spark-master0").ports[0].activate("10.1.2.10", 32780)
        # jupyter0 is not running yet (an elastic or late service).
        body = zs.start_body(execution)["execution"]
        self.assertEqual([s["name"] for s in body["services"]], ["spark-master0"])
        self.assertEqual([p["port_number"] for p in body["services"][0]["ports"]], [8080])
        # A reset port (service died) goes too: its route is then removed.
        execution.service("spark-master0").ports[0].reset()
        self.assertEqual(zs.start_body(execution)["execution"]["services"], [])
        # prepare lists every proxied port regardless.
        prepared = zs.prepare_body(execution)["execution"]
        self.assertEqual([s["name"] for s in prepared["services"]], ["spark-master0", "jupyter0"])

    def test_optional_attributes(self) -> None:
        class Port:
            internal_number = 80
            enable_proxy = True
            external_ip = "app.internal"
            external_port = 8080
            strip_prefix = True

        class Service:
            name = "web0"
            ports = [Port()]

        class Execution:
            id = "abc"
            owner = None
            services = [Service()]

        self.assertEqual(zs.start_body(Execution())["execution"], {
            "id": "abc", "services": [{"name": "web0", "ports": [{
                "port_number": 80, "proxy": True, "external_ip": "app.internal",
                "external_port": 8080, "strip_prefix": True}]}]})
        Execution.owner = "carol"
        self.assertEqual(zs.prepare_body(Execution())["execution"]["owner"], "carol")

    def test_execution_ids(self) -> None:
        self.assertEqual(zs.stop_body(43), {"event": "stop", "execution": {"id": 43}})
        self.assertEqual(zs.stop_body("42"), {"event": "stop", "execution": {"id": "42"}})
        for bad in (True, 4.2, None, [1]):
            with self.subTest(id=bad):
                with self.assertRaises(zs.ConfigError):
                    zs.stop_body(bad)

    def test_resync_body_matches_the_documented_payload(self) -> None:
        want = load("hooks", "executions.json")
        executions = []
        for (app, exec_id, name, owner), payload in zip(
                [("notebook", "42", "nb", "alice"), ("spark", 43, "spark-analysis", "bob")], want["executions"]):
            e = zoe_execution(app, exec_id, name, owner)
            activate_like(e, payload)
            executions.append(e)
        got = zs.resync_body(executions)
        self.assertEqual([without_port_names(e) for e in got["executions"]],
                         [proxied_only(e) for e in want["executions"]])
        self.assertEqual(zs.resync_body([]), {"executions": []})

    def test_instances_are_named_as_zoe_names_them(self) -> None:
        execution = zoe_execution("spark", 43, "s", "bob")
        self.assertEqual([s.name for s in execution.services],
                         ["spark-master0", "spark-worker0", "spark-worker1", "jupyter0"])


class TokenTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)

    def write(self, content: str) -> str:
        path = os.path.join(self.dir, "token")
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(content)
        os.chmod(path, 0o600)
        return path

    def test_read_token(self) -> None:
        cases = [("s3cret\n", "s3cret"), ("s3cret", "s3cret"), ("s3cret\r\n", "s3cret"), ("s3cret\n\n", "s3cret")]
        for content, want in cases:
            with self.subTest(content=content):
                self.assertEqual(zs.read_token(self.write(content)), want)

    def test_bad_token_files(self) -> None:
        for content in ("", "\n", "two\nlines\n", " padded\n"):
            with self.subTest(content=content):
                with self.assertRaises(zs.ConfigError):
                    zs.read_token(self.write(content))
        with self.assertRaises(zs.ConfigError) as cm:
            zs.read_token(os.path.join(self.dir, "missing"))
        self.assertIn("missing", str(cm.exception))


class RetryAfterTest(unittest.TestCase):
    def test_parse_retry_after(self) -> None:
        now = 1_700_000_000.0
        cases = [
            (None, None), ("", None), ("1", 1.0), (" 3 ", 3.0), ("0", 0.0), ("-1", None), ("1.5", None),
            ("soon", None),
            (email.utils.formatdate(now + 7, usegmt=True), 7.0),
            (email.utils.formatdate(now - 60, usegmt=True), 0.0),
        ]
        for value, want in cases:
            with self.subTest(value=value):
                got = zs.parse_retry_after(value, now=now)
                if want is None:
                    self.assertIsNone(got)
                else:
                    self.assertAlmostEqual(got, want, places=3)

    def test_retry_delay(self) -> None:
        policy = zs.RetryPolicy(budget=30, base=0.5, cap=4, max_attempts=5)
        cases = [
            # (attempt, retry_after, remaining, jitter, want)
            (1, 1.0, 30, 0.0, 1.0),       # Retry-After honoured as given
            (1, 2.0, 1.5, 0.0, None),     # longer than the budget left: give up now
            (5, 1.0, 30, 0.0, None),      # attempts used up
            (1, None, 30, 1.0, 0.5),      # exponential: base, 2 base, ...
            (2, None, 30, 1.0, 1.0),
            (3, None, 30, 1.0, 2.0),
            (4, None, 30, 1.0, 4.0),      # capped
            (4, None, 30, 0.0, 2.0),      # jitter takes up to half off
            (3, None, 1.0, 1.0, None),    # backoff beyond the budget
            (1, 0.0, 0.0, 0.0, 0.0),      # Retry-After: 0 retries at once
        ]
        for attempt, retry_after, remaining, jitter, want in cases:
            with self.subTest(attempt=attempt, retry_after=retry_after, remaining=remaining):
                got = zs.retry_delay(policy, attempt, retry_after, remaining, jitter=lambda: jitter)
                self.assertEqual(got, want)


class ErrorTest(unittest.TestCase):
    def test_error_for(self) -> None:
        body = json.dumps({"error": "must be 1-65535", "field": "execution.services[0].ports[0].external_port"}).encode()
        err = zs.error_for(400, body)
        self.assertIsInstance(err, zs.BadRequest)
        self.assertEqual(err.field, "execution.services[0].ports[0].external_port")
        self.assertEqual(err.message, "must be 1-65535")
        self.assertIn("execution.services[0].ports[0].external_port", str(err))

        cases = [
            (401, b'{"error":"missing or wrong bearer token","field":"Authorization"}', zs.Unauthorized, "Authorization"),
            (404, b'{"error":"no routes for execution 9","field":"id"}', zs.NotFound, "id"),
            (413, b'{"error":"too large"}', zs.PayloadTooLarge, None),
            (503, b'{"error":"zookeeper unavailable"}', zs.Unavailable, None),
            (500, b'{"error":"boom"}', zs.ServerError, None),
            (502, b"<html>Bad Gateway</html>", zs.ServerError, None),
            (418, b"", zs.SidecarError, None),
        ]
        for status, raw, cls, field in cases:
            with self.subTest(status=status):
                err = zs.error_for(status, raw, retry_after=1.0)
                self.assertIs(type(err), cls)
                self.assertEqual(err.status, status)
                self.assertEqual(err.field, field)
                self.assertEqual(err.retry_after, 1.0)
        self.assertEqual(zs.error_for(502, b"<html>Bad Gateway</html>").message, "<html>Bad Gateway</html>")
        self.assertEqual(zs.error_for(418, b"").message, "no body")


class LocateTest(unittest.TestCase):
    def test_locate(self) -> None:
        execution = zoe_execution("spark", 43, "s", "bob")
        execution.service("jupyter0").ports[0].activate("10.0.0.9", 32001)
        execution.service("spark-master0").ports[0].activate("10.0.0.8", 32000)
        hook = zs.start_body(execution)
        resync = zs.resync_body([execution])
        cases = [
            (hook, "execution.services[1].ports[0].external_port", "execution 43, service jupyter0, port 8888"),
            (hook, "execution.services[0].name", "execution 43, service spark-master0"),
            (hook, "execution.id", "execution 43"),
            (resync, "executions[0].services[1].ports[0].url_template", "execution 43, service jupyter0, port 8888"),
            (hook, "execution.services[9].name", "execution 43"),
            (hook, "wait", ""),
            (hook, "Authorization", ""),
            (hook, "", ""),
        ]
        for body, field, want in cases:
            with self.subTest(field=field):
                self.assertEqual(zs.locate(body, field), want)

    def test_error_text(self) -> None:
        err = zs.BadRequest(400, "must be 1-65535", "execution.services[0].ports[0].external_port")
        self.assertEqual(str(err), "sidecar answered 400: must be 1-65535 (field execution.services[0].ports[0].external_port)")
        err.where = "execution 7, service py-notebook0, port 8888"
        self.assertEqual(str(err), "sidecar answered 400: must be 1-65535 "
                         "(field execution.services[0].ports[0].external_port: execution 7, service py-notebook0, port 8888)")
        self.assertEqual(str(zs.TransportError(0, "GET x: refused")), "GET x: refused")


class ScriptedTransport:
    """Answers requests from a script, recording what was sent. Each entry
    is (status, headers, body) or an exception to raise."""

    def __init__(self, script: List[Any]) -> None:
        self.script = list(script)
        self.requests = []  # type: List[Any]
        self.timeouts = []  # type: List[float]

    def __call__(self, request: Any, timeout: float) -> Any:
        self.requests.append(request)
        self.timeouts.append(timeout)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        status, headers, body = step
        return zs._Answer(status, headers, body)


HOOK_OK = (200, {"Server-Timing": "wait;dur=0.1"}, json.dumps({
    "execution_id": "42",
    "routes": [{"execution_id": "42", "service": "py-notebook0", "port": 8888, "key": "k" * 64,
                "path": "/zoe/proxy/" + "k" * 64, "backend": "http://10.1.2.3:32768", "router": "zsc-x-1",
                "something_new": 1}],
    "env": {"py-notebook0": {"REVERSE_PROXY_PATH_8888": "/zoe/proxy/" + "k" * 64}},
    "served": True}).encode())
BUSY = (503, {"Retry-After": "1"}, b'{"error":"zookeeper unavailable: too many concurrent requests"}')


class ClientTest(unittest.TestCase):
    def client(self, script: List[Any], **kwargs: Any) -> Any:
        self.transport = ScriptedTransport(script)
        self.slept = []  # type: List[float]
        self.now = [0.0]

        def sleep(seconds: float) -> None:
            self.slept.append(seconds)
            self.now[0] += seconds

        kwargs.setdefault("timeout", 7.0)
        return zs.Client("http://sidecar:8480/", "tok", transport=self.transport,
                         sleep=sleep, clock=lambda: self.now[0], **kwargs)

    def test_start_sends_the_body_with_token_and_wait(self) -> None:
        c = self.client([HOOK_OK])
        execution = zoe_execution("notebook", 42, "nb", "alice")
        execution.service("py-notebook0").ports[0].activate("10.1.2.3", 32768)
        got = c.start(execution, wait=30)
        req = self.transport.requests[0]
        self.assertEqual(req.get_method(), "POST")
        self.assertEqual(req.full_url, "http://sidecar:8480/v1/hooks?wait=30s")
        self.assertEqual(req.get_header("Authorization"), "Bearer tok")
        self.assertEqual(req.get_header("Content-type"), "application/json")
        self.assertEqual(json.loads(req.data), zs.start_body(execution))
        self.assertEqual(self.transport.timeouts, [7.0])
        self.assertTrue(got.served)
        self.assertEqual(got.server_timing, "wait;dur=0.1")
        self.assertEqual(got.env_for("py-notebook0"), {"REVERSE_PROXY_PATH_8888": "/zoe/proxy/" + "k" * 64})
        self.assertEqual(got.env_for("nobody"), {})
        self.assertEqual(got.route_for("py-notebook0", 8888).backend, "http://10.1.2.3:32768")
        self.assertIsNone(got.route_for("py-notebook0", 6006))

    def test_stop_with_wait(self) -> None:
        body = json.dumps({"execution_id": "42", "routes": [HOOK_OK_ROUTE], "env": {}, "unserved": True}).encode()
        c = self.client([(200, {}, body)])
        got = c.stop(42, wait=10)
        self.assertEqual(self.transport.requests[0].full_url, "http://sidecar:8480/v1/hooks?wait=10s")
        self.assertIs(got.unserved, True)
        self.assertIsNone(got.served)

    def test_wait_durations(self) -> None:
        for wait, query in ((1.5, "?wait=1500ms"), (0.0001, "?wait=1ms"), (None, "")):
            with self.subTest(wait=wait):
                c = self.client([HOOK_OK])
                c.start({"id": 1, "services": []}, wait=wait)
                self.assertEqual(self.transport.requests[0].full_url, "http://sidecar:8480/v1/hooks" + query)

    def test_503_is_retried_after_retry_after(self) -> None:
        retries = []
        c = self.client([BUSY, (503, {"Retry-After": "2"}, b'{"error":"x"}'), HOOK_OK],
                        on_retry=lambda attempt, err, delay: retries.append((attempt, err.status, delay)))
        got = c.stop(42)
        self.assertEqual(got.execution_id, "42")
        self.assertEqual(self.slept, [1.0, 2.0])
        self.assertEqual(retries, [(1, 503, 1.0), (2, 503, 2.0)])
        self.assertEqual(len(self.transport.requests), 3)
        self.assertEqual({r.data for r in self.transport.requests}, {json.dumps(zs.stop_body(42)).encode()})

    def test_503_gives_up_within_the_budget(self) -> None:
        c = self.client([BUSY] * 10, retry=zs.RetryPolicy(budget=2.5))
        with self.assertRaises(zs.Unavailable) as cm:
            c.stop(42)
        self.assertEqual(self.slept, [1.0, 1.0])  # a third 1 s sleep would pass 2.5 s
        self.assertEqual(cm.exception.retry_after, 1.0)
        c = self.client([(503, {"Retry-After": "60"}, b"{}")], retry=zs.RetryPolicy(budget=30))
        with self.assertRaises(zs.Unavailable):
            c.stop(42)
        self.assertEqual(self.slept, [])

    def test_other_errors_are_not_retried(self) -> None:
        cases = [
            (400, b'{"error":"must be 1-65535","field":"execution.services[0].ports[0].external_port"}', zs.BadRequest),
            (401, b'{"error":"missing or wrong bearer token","field":"Authorization"}', zs.Unauthorized),
            (500, b'{"error":"boom"}', zs.ServerError),
        ]
        for status, body, cls in cases:
            with self.subTest(status=status):
                c = self.client([(status, {}, body)])
                with self.assertRaises(cls):
                    c.stop(1)
                self.assertEqual(len(self.transport.requests), 1)

    def test_bad_request_names_the_zoe_objects(self) -> None:
        execution = zoe_execution("spark", 43, "s", "bob")
        execution.service("jupyter0").ports[0].activate("10.0.0.9", 70000)
        c = self.client([(400, {}, b'{"error":"must be 1-65535","field":"execution.services[0].ports[0].external_port"}')])
        with self.assertRaises(zs.BadRequest) as cm:
            c.start(execution)
        self.assertEqual(cm.exception.where, "execution 43, service jupyter0, port 8888")

    def test_transport_errors(self) -> None:
        down = zs.TransportError(0, "connection refused")
        c = self.client([down, HOOK_OK])
        c.stop(42)
        self.assertEqual(len(self.transport.requests), 2)
        c = self.client([down, HOOK_OK], retry=zs.RetryPolicy(retry_transport_errors=False))
        with self.assertRaises(zs.TransportError):
            c.stop(42)
        c = self.client([down])
        self.assertFalse(c.ready())
        self.assertEqual(len(self.transport.requests), 1)
        c = self.client([zs.TLSError(0, "certificate verify failed"), HOOK_OK])
        with self.assertRaises(zs.TLSError):
            c.stop(42)
        self.assertEqual(len(self.transport.requests), 1)
        self.assertEqual(self.slept, [])

    def test_execution_routes_resync(self) -> None:
        c = self.client([(404, {}, b'{"error":"no routes for execution 9","field":"id"}')])
        self.assertIsNone(c.execution(9))
        self.assertEqual(self.transport.requests[0].full_url, "http://sidecar:8480/v1/executions/9")
        self.assertEqual(self.transport.requests[0].get_method(), "GET")

        c = self.client([(200, {}, json.dumps({"routes": [HOOK_OK_ROUTE]}).encode())])
        self.assertEqual([r.port for r in c.routes()], [8888])

        plan = {"dry_run": True, "plan": {"44": {"create": [], "update": [], "delete": [HOOK_OK_ROUTE]}}}
        c = self.client([(200, {}, json.dumps(plan).encode())])
        got = c.resync([], dry_run=True)
        req = self.transport.requests[0]
        self.assertEqual((req.get_method(), req.full_url), ("PUT", "http://sidecar:8480/v1/executions?dry_run=true"))
        self.assertEqual(json.loads(req.data), {"executions": []})
        self.assertTrue(got.dry_run)
        self.assertEqual([r.key for r in got.plan["44"].delete], ["k" * 64])

    def test_not_json(self) -> None:
        c = self.client([(200, {}, b"<html>")])
        with self.assertRaises(zs.SidecarError):
            c.routes()

    def test_configuration(self) -> None:
        for url in ("sidecar:8480", "ftp://x", "http://", "http://x/?a=1"):
            with self.subTest(url=url):
                with self.assertRaises(zs.ConfigError):
                    zs.Client(url, "tok")
        with self.assertRaises(zs.ConfigError):
            zs.Client("http://x", "")
        with self.assertRaises(zs.ConfigError):
            zs.Client("http://x", "tok", context=ssl.create_default_context())
        self.assertNotIn("tok", repr(zs.Client("http://x", "tok")))

    def test_public_url(self) -> None:
        route = zs.Route.from_json(HOOK_OK_ROUTE)
        self.assertEqual(route.public_url("https://zoe.example.com/"), "https://zoe.example.com" + route.path + "/")
        self.assertEqual(route.public_url(), route.path + "/")
        self.assertEqual(route._replace(url="https://u/x/").public_url("https://other"), "https://u/x/")
        host = route._replace(host="py-notebook0-42-prod.apps.example.com", path="/")
        self.assertEqual(host.public_url("https://zoe.example.com"), "https://py-notebook0-42-prod.apps.example.com/")


HOOK_OK_ROUTE = json.loads(HOOK_OK[2])["routes"][0]


def openssl(*args: str) -> None:
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@unittest.skipIf(shutil.which("openssl") is None, "openssl is needed to make test certificates")
class TLSTest(unittest.TestCase):
    """How the TLS context is built, and that it works in a real handshake
    with a local HTTPS server requiring a client certificate."""

    dir = ""
    seen = []  # type: List[Optional[str]]

    @classmethod
    def setUpClass(cls) -> None:
        cls.dir = tempfile.mkdtemp()
        d = cls.path
        for name in ("ca", "other-ca"):
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", d(name + ".key"), "-out", d(name + ".pem"), "-days", "2",
                    "-subj", "/CN=test " + name)
        for name, ext in (("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
            openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", d(name + ".key"), "-out", d(name + ".csr"), "-subj", "/CN=" + name)
            with open(d(name + ".ext"), "w") as f:
                f.write(ext + "\n")
            openssl("x509", "-req", "-in", d(name + ".csr"), "-CA", d("ca.pem"), "-CAkey", d("ca.key"),
                    "-CAcreateserial", "-out", d(name + ".pem"), "-days", "2", "-extfile", d(name + ".ext"))
        with open(d("token"), "w") as f:
            f.write("tls-token\n")

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.dir)

    @classmethod
    def path(cls, name: str) -> str:
        return os.path.join(cls.dir, name)

    def test_defaults_verify(self) -> None:
        ctx = zs.ssl_context()
        self.assertEqual(ctx.verify_mode, ssl.CERT_REQUIRED)
        self.assertTrue(ctx.check_hostname)
        self.assertGreaterEqual(ctx.minimum_version, ssl.TLSVersion.TLSv1_2)

    def test_ca_file_is_trusted(self) -> None:
        ctx = zs.ssl_context(ca_file=self.path("ca.pem"))
        subjects = [dict(x[0] for x in c["subject"]) for c in ctx.get_ca_certs()]
        self.assertEqual(subjects, [{"commonName": "test ca"}])
        self.assertEqual(ctx.verify_mode, ssl.CERT_REQUIRED)
        self.assertTrue(ctx.check_hostname)

    def test_bad_files(self) -> None:
        cases = [
            dict(ca_file=self.path("missing.pem")),
            dict(ca_file=self.path("ca.key")),
            dict(cert_file=self.path("client.pem"), key_file=self.path("server.key")),  # key of another cert
            dict(cert_file=self.path("client.pem")),  # no key
            dict(key_file=self.path("client.key")),  # no certificate
        ]
        for kwargs in cases:
            with self.subTest(**kwargs):
                with self.assertRaises(zs.ConfigError):
                    zs.ssl_context(**kwargs)

    def test_from_config(self) -> None:
        with self.assertRaises(zs.ConfigError):
            zs.Client.from_config("http://127.0.0.1:1", self.path("token"), ca_file=self.path("ca.pem"))
        c = zs.Client.from_config("https://127.0.0.1:1", self.path("token"), ca_file=self.path("ca.pem"))
        self.assertEqual(c.base_url, "https://127.0.0.1:1")

    def serve(self) -> str:
        """A local HTTPS server that requires a client certificate from the
        test CA and answers every GET with an empty route list."""
        seen = self.seen = []  # type: List[Optional[str]]

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.headers.get("Authorization"))
                body = b'{"routes": []}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=self.path("ca.pem"))
        server_ctx.verify_mode = ssl.CERT_REQUIRED
        server_ctx.load_cert_chain(self.path("server.pem"), self.path("server.key"))
        httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        httpd.socket = server_ctx.wrap_socket(httpd.socket, server_side=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join)
        self.addCleanup(httpd.server_close)
        self.addCleanup(httpd.shutdown)
        return "https://127.0.0.1:{}".format(httpd.server_address[1])

    def refused(self) -> List[Dict[str, str]]:
        """TLS settings the server of serve() refuses in the handshake."""
        return [
            dict(ca_file=self.path("ca.pem")),  # no client certificate
            dict(ca_file=self.path("other-ca.pem"), cert_file=self.path("client.pem"),
                 key_file=self.path("client.key")),  # server not trusted
        ]

    def test_mutual_tls_handshake(self) -> None:
        url = self.serve()
        fast = dict(timeout=5.0, retry=zs.NO_RETRY)
        c = zs.Client.from_config(url, self.path("token"), ca_file=self.path("ca.pem"),
                                  cert_file=self.path("client.pem"), key_file=self.path("client.key"), **fast)
        self.assertEqual(c.routes(), [])
        self.assertEqual(self.seen, ["Bearer tls-token"])
        for tls in self.refused():
            with self.subTest(**tls):
                c = zs.Client.from_config(url, self.path("token"), **tls, **fast)
                with self.assertRaises(zs.TransportError):
                    c.routes()
        self.assertEqual(len(self.seen), 1)

    def test_refused_handshake_is_not_retried(self) -> None:
        # A certificate problem is permanent: raised at once, whatever the
        # retry budget, as a TLSError.
        url = self.serve()
        slept = []  # type: List[float]
        for tls in self.refused():
            with self.subTest(**tls):
                c = zs.Client.from_config(url, self.path("token"), **tls, timeout=5.0,
                                          retry=zs.RetryPolicy(), sleep=slept.append)
                with self.assertRaises(zs.TLSError):
                    c.routes()
        self.assertEqual(slept, [])
        self.assertEqual(self.seen, [])


if __name__ == "__main__":
    unittest.main()
