"""Plays Zoe's master against a running sidecar and Traefik, through the client.

integration/zoe_test.go runs it, one process per step, against a real
ZooKeeper ensemble, sidecar and Traefik; a step that finds something wrong
exits with status 1 and says what. Each step is what Zoe's master does at
one point of an execution's life; the master's database is a JSON file
(``ZOE_STATE_FILE``), so a later step is a restarted master that knows
only what the database says.

Steps (``python3 lifecycle_driver.py <step> [execution id]``):

``errors``
    A wrong token gives Unauthorized (401, field ``Authorization``); a port
    published on an impossible host port and an over-long ``wait`` give
    BadRequest (400) naming the field; nothing is written.
``launch``
    Executions 42 (notebook), 43 (spark) and 44 (notebook), as Zoe starts
    them: prepare, create each container with its ``REVERSE_PROXY_PATH_*``
    (``stand_in_app.py``), publish its ports, start with ``wait``, and
    check that the first request through Traefik after ``served: true``
    reaches the container.
``crash-while-stopping ID``
    The execution's containers die and the database marks it terminated,
    but the master dies before posting the stop: Traefik still routes it.
``restart``
    A new master resyncs with the running executions of its database: the
    dry run plans only the lost execution's removal, the resync removes it,
    the others keep their keys and are still served; the API server's
    view (``execution``) gives their public URLs.
``tls``
    Against a sidecar replica serving HTTPS with client certificates
    required: the master's certificate works and the replica gives the
    same paths; no certificate, one from another CA, an untrusted server
    (``OTHER_CA_FILE``) and a wrong token are refused.
``stop ID``
    The execution ends normally: stop with ``wait``; after ``unserved:
    true`` its paths answer 404 through Traefik at once.
``stop-during-outage ID``
    Prints ``FREEZE`` and waits for a line on stdin (the test freezes the
    ensemble), checks that a stop with a short retry budget gives up with
    Unavailable, prints ``THAW`` at the first 503 of a stop with a long
    budget, and checks that this stop succeeds by retrying after
    ``Retry-After``.

Environment: ``ZOE_SIDECAR_URL``, ``ZOE_SIDECAR_TOKEN_FILE`` (and the TLS
files, see ``zoe_sidecar.environ_config``), ``TRAEFIK_URL`` (Traefik's
public entry point; the sidecar runs with the same ``--public-url``),
``ZOE_STATE_FILE``; for the tls step also ``OTHER_CA_FILE`` (a CA that did
not sign the sidecar's certificate) and ``FOREIGN_CERT_FILE`` /
``FOREIGN_KEY_FILE`` (a client certificate from it).
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

import zoe_sidecar as zs
import zoe_state

HERE = os.path.dirname(os.path.abspath(__file__))
ZAPPS = os.path.join(os.path.dirname(HERE), "zapps")

# The executions the master launches: id, ZApp, execution name, owner.
LAUNCHES = [(42, "notebook", "nb", "alice"), (43, "spark", "spark-analysis", "bob"), (44, "notebook", "nb-2", "carol")]


class Failed(Exception):
    """A check of the lifecycle failed."""


def check(ok: bool, what: str) -> None:
    if not ok:
        raise Failed(what)


T = TypeVar("T")


def present(value: Optional[T], what: str) -> T:
    if value is None:
        raise Failed(what)
    return value


def say(text: str) -> None:
    print("zoe-master: " + text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the master's database


def load_db() -> Dict[str, Any]:
    path = os.environ["ZOE_STATE_FILE"]
    if not os.path.exists(path):
        return {"executions": {}}
    with open(path, "r", encoding="utf-8") as f:
        db = json.load(f)  # type: Dict[str, Any]
    return db


def save_db(db: Dict[str, Any]) -> None:
    path = os.environ["ZOE_STATE_FILE"]
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(db, f, indent=1, sort_keys=True)
    os.replace(path + ".tmp", path)


def execution_of(record: Dict[str, Any]) -> zoe_state.Execution:
    """The Zoe objects of a database record, ports published where it says."""
    execution = zoe_state.execution_from_zapp(record["id"], record["name"], record["owner"],
                                              zoe_state.load_zapp(os.path.join(ZAPPS, record["app"] + ".json")))
    for service_name, ports in record["published"].items():
        for port in execution.service(service_name).ports:
            if str(port.internal_number) in ports:
                port.activate("127.0.0.1", ports[str(port.internal_number)])
    return execution


def kill_containers(record: Dict[str, Any]) -> None:
    """Stop the execution's containers and make sure they are gone."""
    for pid in record["pids"]:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + 10
        while alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                raise Failed("container pid {} ignored SIGTERM for 10s".format(pid))
            time.sleep(0.05)
    record["pids"] = []


def alive(pid: int) -> bool:
    """Whether pid runs. A container whose master exited is init's child and
    reaped by it; the launching master's own children are reaped here."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# ---------------------------------------------------------------- Traefik


def fetch(url: str) -> Tuple[int, str]:
    """GET url; the status and body, 0 when nothing answered."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url), timeout=5) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        try:
            return e.code, e.read().decode("utf-8", "replace")
        finally:
            e.close()
    except (urllib.error.URLError, OSError):
        return 0, ""


def wait_for(url: str, want: Callable[[int, str], bool], what: str, timeout: float = 30.0) -> Tuple[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = fetch(url)
        if want(status, body):
            return status, body
        if time.monotonic() > deadline:
            raise Failed("{}: GET {} still answers {} {!r} after {:.0f}s".format(what, url, status, body[:200], timeout))
        time.sleep(0.1)


def traefik_url(path: str) -> str:
    return os.environ["TRAEFIK_URL"].rstrip("/") + path + "/"


def check_served(route: zs.Route) -> None:
    """One request through Traefik reaches the route's container, which
    serves under the path it was given at creation."""
    status, body = fetch(traefik_url(route.path))
    want = "{} {} {}/\n".format(route.service, route.port, route.path)
    check(status == 200 and body == want, "route of {} port {}: GET {} answers {} {!r}, want 200 {!r}".format(
        route.service, route.port, traefik_url(route.path), status, body[:200], want))


def check_unserved(path: str, what: str) -> None:
    status, body = fetch(traefik_url(path))
    check(status == 404, "{}: GET {} answers {} {!r}, want 404".format(what, traefik_url(path), status, body[:200]))


def wait_gone(path: str, what: str) -> None:
    wait_for(traefik_url(path), lambda s, b: s == 404, what)


# ---------------------------------------------------------------- steps


def client(**kwargs: Any) -> zs.Client:
    url, token_file, tls = zs.environ_config()
    kwargs.setdefault("timeout", 20.0)
    return zs.Client.from_config(url, token_file, **tls, **kwargs)


def step_errors() -> None:
    url, _, tls = zs.environ_config()
    with tempfile.TemporaryDirectory() as d:
        wrong = os.path.join(d, "token")
        with open(wrong, "w") as f:
            f.write("not-the-token\n")
        os.chmod(wrong, 0o600)
        retried = []  # type: List[int]
        bad = zs.Client.from_config(url, wrong, on_retry=lambda a, e, s: retried.append(e.status), **tls)
        calls = [bad.routes, lambda: bad.stop(42)]  # type: List[Callable[[], Any]]
        for call in calls:
            try:
                call()
                raise Failed("a wrong token was accepted")
            except zs.Unauthorized as e:
                check(e.status == 401 and e.field == "Authorization", "401 without field Authorization: {}".format(e))
        check(retried == [], "401 was retried: {}".format(retried))
        say("wrong token: Unauthorized (401, field Authorization), not retried")

    c = client()
    zapp = zoe_state.load_zapp(os.path.join(ZAPPS, "notebook.json"))
    execution = zoe_state.execution_from_zapp(45, "bad", "alice", zapp)
    execution.service("py-notebook0").ports[0].activate("127.0.0.1", 70000)
    try:
        c.start(execution)
        raise Failed("a start with port 70000 was accepted")
    except zs.BadRequest as e:
        check(e.status == 400 and e.field == "execution.services[0].ports[0].external_port"
              and e.where == "execution 45, service py-notebook0, port 8888",
              "400 names the wrong field: {}".format(e))
        say("port 70000: BadRequest field {} = {} ({})".format(e.field, e.where, e.message))
    execution.service("py-notebook0").ports[0].activate("127.0.0.1", 8888)
    try:
        c.start(execution, wait=3600)
        raise Failed("?wait=3600s was accepted")
    except zs.BadRequest as e:
        check(e.field == "wait", "400 names the wrong field: {}".format(e))
        say("wait=1h: BadRequest field {} ({})".format(e.field, e.message))
    check(c.execution(45) is None, "a refused start left routes behind")


def step_launch() -> None:
    c = client()
    db = load_db()
    for exec_id, app, name, owner in LAUNCHES:
        execution = zoe_state.execution_from_zapp(exec_id, name, owner,
                                                  zoe_state.load_zapp(os.path.join(ZAPPS, app + ".json")))
        record = {"id": exec_id, "app": app, "name": name, "owner": owner, "status": "starting",
                  "published": {}, "env": {}, "pids": []}  # type: Dict[str, Any]
        db["executions"][str(exec_id)] = record
        proxied = [(s.name, p.internal_number) for s in execution.services for p in s.ports if p.enable_proxy]

        # Before any container exists: the paths they must serve under.
        prepared = c.prepare(execution)
        check(sorted((r.service, r.port) for r in prepared.routes) == sorted(proxied),
              "prepare of {}: routes {} for proxied ports {}".format(exec_id, prepared.routes, proxied))
        check(all(not r.backend for r in prepared.routes), "prepare has backends: {}".format(prepared.routes))

        # Create the containers with their environment, as the back-end
        # does; their ports get published on free host ports.
        for service in execution.services:
            env = prepared.env_for(service.name)
            record["env"][service.name] = env
            if not env:
                continue  # no proxied port: nothing of the proxy's concern
            pid, published = spawn(exec_id, service.name, env)
            record["pids"].append(pid)
            record["published"][service.name] = {str(k): v for k, v in published.items()}
            for port in service.ports:
                if port.internal_number in published:
                    port.activate("127.0.0.1", published[port.internal_number])
        save_db(db)

        # set_running: publish the routes, wait until Traefik serves them.
        started = c.start(execution, wait=30)
        check(started.served is True, "start of {}: served = {}".format(exec_id, started.served))
        check(started.env == {k: v for k, v in record["env"].items() if v},
              "start of {} gives other paths than prepare: {} vs {}".format(exec_id, started.env, record["env"]))
        for route in started.routes:
            host_port = record["published"][route.service][str(route.port)]
            check(route.backend == "http://127.0.0.1:{}".format(host_port), "backend of {}".format(route))
            check(route.public_url() == traefik_url(route.path), "public URL {} of {}".format(route.public_url(), route))
            # served: true means Traefik routes it as written, so the
            # first request must reach the container.
            check_served(route)
        record["status"] = "running"
        save_db(db)
        say("execution {} ({}): served: true, the first request through Traefik reached {} route(s): {}".format(
            exec_id, app, len(started.routes), ", ".join("{}:{}".format(r.service, r.port) for r in started.routes)))


def spawn(exec_id: int, service: str, env: Dict[str, str]) -> Tuple[int, Dict[int, int]]:
    """Start a stand-in container; its pid and published ports."""
    child_env = dict(os.environ)
    child_env.update(env)
    child_env.update({"SERVICE_NAME": service, "EXECUTION_ID": str(exec_id), "DEPLOY_NAME": "prod"})
    log = open(os.path.join(os.path.dirname(os.environ["ZOE_STATE_FILE"]), "{}-{}.log".format(exec_id, service)), "ab")
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "stand_in_app.py")], env=child_env,
                            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                            start_new_session=True, universal_newlines=True)
    log.close()
    published = {}  # type: Dict[int, int]
    assert proc.stdout is not None
    for line in proc.stdout:
        words = line.split()
        if words == ["READY"]:
            break
        if len(words) == 3 and words[0] == "PORT":
            published[int(words[1])] = int(words[2])
    else:
        raise Failed("container {} of {} exited before it was ready".format(service, exec_id))
    proc.stdout.close()
    return proc.pid, published


def step_crash_while_stopping(exec_id: str) -> None:
    db = load_db()
    record = db["executions"][exec_id]
    kill_containers(record)
    record["status"] = "terminated"
    save_db(db)
    # The master died here, before its stop hook: Traefik still routes the
    # execution's paths, to containers that are gone.
    for env in record["env"].values():
        for path in env.values():
            wait_for(traefik_url(path), lambda s, b: s == 502, "stale route of {}".format(exec_id))
    say("execution {}: containers gone, stop never posted; Traefik answers 502 on its path".format(exec_id))


def step_restart() -> None:
    c = client()
    db = load_db()
    running = [r for r in db["executions"].values() if r["status"] == "running"]
    lost = [r for r in db["executions"].values() if r["status"] == "terminated"]
    executions = [execution_of(r) for r in running]

    dry = c.resync(executions, dry_run=True)
    check(dry.dry_run, "dry run not marked as such")
    for r in running:
        entry = dry.plan.get(str(r["id"]), zs.PlanEntry([], [], []))
        check(entry == zs.PlanEntry([], [], []), "resync would change running execution {}: {}".format(r["id"], entry))
    for r in lost:
        lost_entry = dry.plan.get(str(r["id"]))
        want = sorted(p for env in r["env"].values() for p in env.values())
        check(lost_entry is not None and sorted(x.path for x in lost_entry.delete) == want
              and not lost_entry.create and not lost_entry.update,
              "resync plan for lost execution {}: {}".format(r["id"], lost_entry))
        for path in want:
            status, _ = fetch(traefik_url(path))
            check(status == 502, "dry run changed {}: {}".format(path, status))
    say("resync dry run: removes {} only".format(", ".join(str(r["id"]) for r in lost)))

    done = c.resync(executions)
    check(not done.dry_run and done.plan == dry.plan, "resync did other than its dry run: {} vs {}".format(done, dry))
    for r in lost:
        for env in r["env"].values():
            for path in env.values():
                wait_gone(path, "lost execution {} after resync".format(r["id"]))
        check(c.execution(r["id"]) is None, "lost execution {} still has routes".format(r["id"]))

    # What Zoe's API server shows: the public URL of each endpoint.
    for r in running:
        view = present(c.execution(r["id"]), "running execution {} has no routes".format(r["id"]))
        check(view.env == {k: v for k, v in r["env"].items() if v},
              "execution {}: paths changed across the restart: {} vs {}".format(r["id"], view.env, r["env"]))
        for route in view.routes:
            check(route.url == traefik_url(route.path), "public URL of {}".format(route))
            status, body = fetch(route.public_url())
            check(status == 200 and body == "{} {} {}/\n".format(route.service, route.port, route.path),
                  "{} answers {} {!r}".format(route.public_url(), status, body))
    say("after resync: lost routes 404, {} still served with unchanged paths".format(
        ", ".join(str(r["id"]) for r in running)))


def step_tls() -> None:
    """Against a replica serving HTTPS that requires client certificates
    (ZOE_SIDECAR_URL is https and the TLS files are set): the master's
    certificate and token are accepted, and the replica answers with the
    same paths; a missing or foreign client certificate, an untrusted
    server and a wrong token are refused."""
    url, token_file, tls = zs.environ_config()
    check(url.startswith("https://") and "cert_file" in tls, "the tls step needs an https URL and a client certificate")
    c = client()
    db = load_db()
    running = [r for r in db["executions"].values() if r["status"] == "running"]
    check(bool(running), "no running execution to look at")
    for r in running:
        view = present(c.execution(r["id"]), "execution {} unknown to the HTTPS replica".format(r["id"]))
        check(view.env == {k: v for k, v in r["env"].items() if v},
              "execution {}: the HTTPS replica gives other paths: {} vs {}".format(r["id"], view.env, r["env"]))
        started = c.start(execution_of(r), wait=30)
        check(started.served is True and started.env == view.env,
              "repeated start of {} over HTTPS: served {}, env {}".format(r["id"], started.served, started.env))
        for route in started.routes:
            check_served(route)
    say("mutual TLS with the master's certificate: same paths on the HTTPS replica, a repeated start served")

    once = dict(retry=zs.NO_RETRY, timeout=10.0)
    refused = [
        ("no client certificate", dict(ca_file=tls["ca_file"])),
        ("a client certificate from another CA", dict(ca_file=tls["ca_file"], cert_file=os.environ["FOREIGN_CERT_FILE"],
                                                       key_file=os.environ["FOREIGN_KEY_FILE"])),
        ("a server certificate from an untrusted CA", dict(tls, ca_file=os.environ["OTHER_CA_FILE"])),
    ]
    for what, files in refused:
        try:
            zs.Client.from_config(url, token_file, **files, **once).routes()  # type: ignore[arg-type]
            raise Failed("accepted with {}".format(what))
        except zs.TransportError as e:
            say("{}: refused ({})".format(what, e))
    with tempfile.TemporaryDirectory() as d:
        wrong = os.path.join(d, "token")
        with open(wrong, "w") as f:
            f.write("not-the-token\n")
        try:
            zs.Client.from_config(url, wrong, **tls, **once).routes()  # type: ignore[arg-type]
            raise Failed("a wrong token was accepted over mutual TLS")
        except zs.Unauthorized as e:
            check(e.field == "Authorization", "401 without field Authorization: {}".format(e))
            say("the master's certificate with a wrong token: Unauthorized (401), the token is still required")


def routes_before_stop(c: zs.Client, exec_id: str, record: Dict[str, Any]) -> zs.HookResult:
    return present(c.execution(record["id"]), "execution {} has no routes before its stop".format(exec_id))


def check_stopped(c: zs.Client, db: Dict[str, Any], exec_id: str, before: zs.HookResult) -> None:
    """The execution's paths answer 404 through Traefik and the sidecar
    has no routes for it; its containers are then removed."""
    record = db["executions"][exec_id]
    for route in before.routes:
        wait_gone(route.path, "execution {} after its stop".format(exec_id))
    check(c.execution(record["id"]) is None, "execution {} still has routes after its stop".format(exec_id))
    kill_containers(record)
    record["status"] = "terminated"
    save_db(db)


def paths(routes: List[zs.Route]) -> List[str]:
    return sorted(r.path for r in routes)


def step_stop(exec_id: str) -> None:
    db = load_db()
    c = client()
    record = db["executions"][exec_id]
    before = routes_before_stop(c, exec_id, record)
    stopped = c.stop(record["id"], wait=30)
    check(paths(stopped.routes) == paths(before.routes), "stop of {} lists {}".format(exec_id, stopped.routes))
    check(stopped.unserved is True, "stop of {} with wait: unserved = {}".format(exec_id, stopped.unserved))
    # unserved: true means Traefik routes none of them: 404 at once.
    for route in before.routes:
        check_unserved(route.path, "execution {} right after its stop".format(exec_id))
    check_stopped(c, db, exec_id, before)
    say("execution {}: stopped with wait (unserved: true), its paths answered 404 at once".format(exec_id))


def step_stop_during_outage(exec_id: str) -> None:
    db = load_db()
    record = db["executions"][exec_id]
    before = routes_before_stop(client(), exec_id, record)
    print("FREEZE", flush=True)
    check(sys.stdin.readline().strip() == "frozen", "no word that the ensemble is frozen")

    budget = 1.5
    impatient = client(retry=zs.RetryPolicy(budget=budget))
    began = time.monotonic()
    try:
        impatient.stop(record["id"])
        raise Failed("a stop succeeded with ZooKeeper frozen")
    except zs.Unavailable as e:
        took = time.monotonic() - began
        check(e.status == 503 and e.retry_after is not None, "503 without Retry-After: {}".format(e))
        check(took < budget + impatient.timeout, "gave up after {:.1f}s".format(took))
        say("ensemble frozen: stop with a {}s budget gave up after {:.1f}s: {}".format(budget, took, e))

    retries = []  # type: List[Tuple[int, Optional[float], float]]

    def on_retry(attempt: int, error: zs.SidecarError, delay: float) -> None:
        retries.append((error.status, error.retry_after, delay))
        if attempt == 1:
            print("THAW", flush=True)

    patient = client(retry=zs.RetryPolicy(budget=90, max_attempts=100), on_retry=on_retry)
    began = time.monotonic()
    stopped = patient.stop(record["id"])
    took = time.monotonic() - began
    check(len(retries) >= 1, "the stop was not retried")
    for status, retry_after, delay in retries:
        check(status == 503 and retry_after is not None and delay == retry_after,
              "retry after status {} Retry-After {} slept {}".format(status, retry_after, delay))
    # A stop's transaction that reached a frozen server before the sidecar
    # gave up on it may still commit after the thaw; the retried stop then
    # finds nothing left to stop. Either way the routes must be gone.
    listed = paths(stopped.routes)
    check(listed in (paths(before.routes), []), "stop of {} lists {}".format(exec_id, stopped.routes))
    check_stopped(patient, db, exec_id, before)
    say("stop of {} succeeded after {} retried 503(s) (slept Retry-After: {}), {:.1f}s, listing {} route(s); "
        "its paths answer 404".format(exec_id, len(retries), ", ".join("{:g}s".format(d) for _, _, d in retries),
                                      took, len(listed)))


def main(argv: List[str]) -> int:
    steps: Dict[str, Tuple[Callable[..., None], int]] = {
        "errors": (step_errors, 0), "launch": (step_launch, 0), "restart": (step_restart, 0), "tls": (step_tls, 0),
        "crash-while-stopping": (step_crash_while_stopping, 1), "stop": (step_stop, 1),
        "stop-during-outage": (step_stop_during_outage, 1),
    }
    if len(argv) < 2 or argv[1] not in steps or len(argv) != 2 + steps[argv[1]][1]:
        print("usage: lifecycle_driver.py {} [execution id]".format("|".join(steps)), file=sys.stderr)
        return 2
    run, _ = steps[argv[1]]
    try:
        run(*argv[2:])
    except (Failed, zs.SidecarError, zs.ConfigError) as e:
        print("zoe-master: FAILED in {}: {}: {}".format(argv[1], type(e).__name__, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
