"""Client of traefik-zk-sidecar's HTTP API for Zoe's master and API server.

Standard library only, Python 3.7 or later (ssl.TLSVersion). Three things live here:

* builders that turn Zoe's own state objects (``Execution``, ``Service``,
  ``Port`` from ``zoe_lib.state``, or anything with the same attributes)
  into the bodies the sidecar's ``POST /v1/hooks`` and
  ``PUT /v1/executions`` take;
* :class:`Client`, which sends them with a bearer token read from a file, a
  timeout on every request, bounded retries of ``503`` answers honouring
  ``Retry-After``, and optional HTTPS with a CA file and a client
  certificate;
* typed errors (:class:`SidecarError` and its subclasses) that carry the
  HTTP status and the JSON path the sidecar named in ``field``.

Typical use in the master::

    client = Client.from_config("http://sidecar:8480", "/etc/zoe/sidecar-token")
    prepared = client.prepare(execution)          # before creating containers
    env = prepared.env_for(service.name)          # REVERSE_PROXY_PATH_<port>
    ...                                           # containers run, ports published
    client.start(execution)                       # routes written
    ...
    client.stop(execution.id)                     # execution ends
"""

import email.utils
import json
import math
import os
import random
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import (Any, Callable, Dict, Iterable, List, Mapping, NamedTuple,
                    Optional, Tuple, Union)

__all__ = [
    "Client", "RetryPolicy", "Route", "HookResult", "PlanEntry", "SyncResult",
    "SidecarError", "BadRequest", "Unauthorized", "NotFound", "PayloadTooLarge",
    "Unavailable", "ServerError", "TransportError", "TLSError", "ConfigError",
    "execution_body", "prepare_body", "start_body", "stop_body", "resync_body",
    "read_token", "ssl_context", "parse_retry_after", "retry_delay", "locate",
    "environ_config", "NO_RETRY",
]

JSON = Dict[str, Any]
ExecutionID = Union[int, str]


# ---------------------------------------------------------------- errors


class ConfigError(Exception):
    """The client was configured wrongly (token file, TLS files, URL)."""


class SidecarError(Exception):
    """An answer other than 2xx, or no answer at all.

    ``status`` is the HTTP status (0 when no answer came), ``message`` the
    sidecar's ``error`` text and ``field`` the JSON path it blamed
    (``execution.services[0].ports[1].external_port``), or ``None``.
    """

    def __init__(self, status: int, message: str, field: Optional[str] = None,
                 retry_after: Optional[float] = None) -> None:
        self.status = status
        self.message = message
        self.field = field
        self.retry_after = retry_after
        # What the field's array indexes point at in the body sent
        # ("execution 43, service jupyter0, port 8888"); set by the client.
        self.where = ""
        super().__init__(status, message)

    def __str__(self) -> str:
        text = "sidecar answered {}: {}".format(self.status, self.message) if self.status else self.message
        if self.field:
            text += " (field {}".format(self.field)
            text += ": {})".format(self.where) if self.where else ")"
        return text


class BadRequest(SidecarError):
    """400: the body was refused; ``field`` names what to fix."""


class Unauthorized(SidecarError):
    """401: the token is missing or wrong."""


class NotFound(SidecarError):
    """404."""


class PayloadTooLarge(SidecarError):
    """413: one execution does not fit in one ZooKeeper transaction."""


class Unavailable(SidecarError):
    """503 still, when the retry budget ran out (ZooKeeper unreachable, or
    the sidecar saturated). Nothing was applied by the last attempt."""


class ServerError(SidecarError):
    """Any other 5xx: a fault in the sidecar; retrying will not help."""


class TransportError(SidecarError):
    """No HTTP answer: connection refused or reset, or the timeout passed."""


class TLSError(TransportError):
    """The TLS handshake failed: the sidecar's certificate did not verify
    (wrong CA, wrong host name, expired), the sidecar refused ours or
    closed the handshake, or it does not speak TLS. Never retried: only a
    change of certificates or configuration helps."""


_ERRORS_BY_STATUS = {400: BadRequest, 401: Unauthorized, 404: NotFound,
                     413: PayloadTooLarge, 503: Unavailable}


def error_for(status: int, body: bytes, retry_after: Optional[float] = None) -> SidecarError:
    """The typed error of an answer with ``status`` and ``body``.

    The sidecar's errors are ``{"error": ..., "field": ...}``; a body that is
    not (a proxy's HTML page) is kept as the message.
    """
    message, field = "", None
    try:
        doc = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("error"), str):
        message = doc["error"]
        if isinstance(doc.get("field"), str) and doc["field"]:
            field = doc["field"]
    else:
        message = body.decode("utf-8", "replace").strip()[:300] or "no body"
    cls = _ERRORS_BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else SidecarError
    return cls(status, message, field, retry_after)


_FIELD_PART = re.compile(r"([A-Za-z_]+)|\[(\d+)\]")


def locate(body: Any, field: str) -> str:
    """Name what a field path of the sidecar points at in ``body``.

    The indexes of a path such as ``execution.services[1].ports[0].external_port``
    count the services and ports of the body that was sent (proxied ports
    only), not Zoe's lists; this returns the execution id, service
    instance and port number found on the way, e.g.
    ``"execution 43, service jupyter0, port 8888"``, or "" when the path
    does not lead into the body.
    """
    found = []  # type: List[str]
    node = body
    for name, index in _FIELD_PART.findall(field or ""):
        if name:
            if not isinstance(node, Mapping) or name not in node:
                break
            node = node[name]
        else:
            if not isinstance(node, list) or int(index) >= len(node):
                break
            node = node[int(index)]
        if isinstance(node, Mapping):
            if "services" in node and "id" in node:
                found.append("execution {}".format(node["id"]))
            elif "ports" in node and "name" in node:
                found.append("service {}".format(node["name"]))
            elif "port_number" in node:
                found.append("port {}".format(node["port_number"]))
    return ", ".join(found)


# ---------------------------------------------------------------- answers


class Route(NamedTuple):
    """One published port, as the sidecar shows it."""
    execution_id: str
    service: str
    port: int
    key: str
    path: str
    host: str = ""
    url: str = ""      # set when the sidecar has --public-url
    backend: str = ""  # empty for a stopped route
    router: str = ""

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "Route":
        """Build from the API's JSON; fields this client does not know are ignored."""
        return cls(
            execution_id=str(doc.get("execution_id", "")),
            service=str(doc.get("service", "")),
            port=int(doc.get("port", 0)),
            key=str(doc.get("key", "")),
            path=str(doc.get("path", "")),
            host=str(doc.get("host", "")),
            url=str(doc.get("url", "")),
            backend=str(doc.get("backend", "")),
            router=str(doc.get("router", "")),
        )

    def public_url(self, base: str = "") -> str:
        """Where a user opens this route.

        The sidecar's own ``url`` when it has ``--public-url``; otherwise
        ``base`` (Traefik's public address, ``https://zoe.example.com``)
        joined with the path, or with the host in host routing. Without
        either, the bare path, which a browser resolves against the page
        that links it (Zoe's web UI when Traefik also serves it).
        """
        if self.url:
            return self.url
        base = base.rstrip("/")
        if self.host:
            scheme = urllib.parse.urlsplit(base).scheme or "https"
            return "{}://{}/".format(scheme, self.host)
        return base + self.path + "/"


class HookResult(NamedTuple):
    """The answer to a hook or to ``GET /v1/executions/{id}``."""
    execution_id: str
    routes: List[Route]
    env: Dict[str, Dict[str, str]]
    served: Optional[bool] = None  # start with wait: Traefik serves every route as written
    unserved: Optional[bool] = None  # stop with wait: Traefik routes none of the stopped routes
    server_timing: str = ""

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], server_timing: str = "") -> "HookResult":
        """Build from the API's JSON."""
        env = {}  # type: Dict[str, Dict[str, str]]
        for service, variables in (doc.get("env") or {}).items():
            env[str(service)] = {str(k): str(v) for k, v in (variables or {}).items()}
        served, unserved = doc.get("served"), doc.get("unserved")
        return cls(
            execution_id=str(doc.get("execution_id", "")),
            routes=[Route.from_json(r) for r in doc.get("routes") or []],
            env=env,
            served=served if isinstance(served, bool) else None,
            unserved=unserved if isinstance(unserved, bool) else None,
            server_timing=server_timing,
        )

    def env_for(self, service_name: str) -> Dict[str, str]:
        """The ``REVERSE_PROXY_PATH_<port>`` variables of one service instance
        (empty when it has no proxied port)."""
        return dict(self.env.get(service_name, {}))

    def route_for(self, service_name: str, port_number: int) -> Optional[Route]:
        """The route of one service instance's port, if it is proxied."""
        for route in self.routes:
            if route.service == service_name and route.port == port_number:
                return route
        return None


class PlanEntry(NamedTuple):
    """One execution's part of a resync plan."""
    create: List[Route]
    update: List[Route]
    delete: List[Route]


class SyncResult(NamedTuple):
    """The answer to a resync: per execution id, what changed (or would)."""
    dry_run: bool
    plan: Dict[str, PlanEntry]

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> "SyncResult":
        """Build from the API's JSON."""
        plan = {}
        for exec_id, entry in (doc.get("plan") or {}).items():
            entry = entry or {}
            plan[str(exec_id)] = PlanEntry(
                create=[Route.from_json(r) for r in entry.get("create") or []],
                update=[Route.from_json(r) for r in entry.get("update") or []],
                delete=[Route.from_json(r) for r in entry.get("delete") or []],
            )
        return cls(dry_run=bool(doc.get("dry_run")), plan=plan)


# ---------------------------------------------------------------- hook bodies

# Attribute names of zoe_lib.state objects the builders read:
#   Execution: id, name, owner (a User with .username), services
#   Service:   name (the instance name, "jupyter0"), ports
#   Port:      internal_number, protocol, url_template, readable_name,
#              enable_proxy, external_ip, external_port


def _owner_name(execution: Any) -> str:
    owner = getattr(execution, "owner", None)
    if owner is None or isinstance(owner, str):
        return owner or ""
    return str(getattr(owner, "username", "") or "")


def _port_body(port: Any, with_backend: bool) -> JSON:
    body = {"port_number": int(port.internal_number), "proxy": True}  # type: JSON
    name = getattr(port, "readable_name", None)
    if name:
        body["name"] = str(name)
    protocol = getattr(port, "protocol", None)
    if protocol:
        body["protocol"] = str(protocol)
    template = getattr(port, "url_template", None)
    if template:
        # The sidecar takes the backend's scheme (http or https) from it.
        body["url_template"] = str(template)
    if with_backend:
        body["external_ip"] = str(port.external_ip)
        body["external_port"] = int(port.external_port)
    if getattr(port, "strip_prefix", False):
        body["strip_prefix"] = True
    return body


def _published(port: Any) -> bool:
    return getattr(port, "external_ip", None) not in (None, "") and \
        getattr(port, "external_port", None) not in (None, 0, "")


def _execution_id(value: Any) -> ExecutionID:
    # Zoe's ids are integers; the sidecar takes an integer or a string.
    if isinstance(value, bool):
        raise ConfigError("execution id must be an integer or a string, not a bool")
    if isinstance(value, (int, str)):
        return value
    raise ConfigError("execution id must be an integer or a string, got {!r}".format(value))


def execution_body(execution: Any, with_backends: bool) -> JSON:
    """The ``execution`` object of a hook, from a Zoe ``Execution``.

    Only ports with the ZApp's ``proxy: true`` (Zoe's ``enable_proxy``) are
    sent: the sidecar publishes no other. With ``with_backends`` (a start
    or a resync) each port carries where it runs, and a proxied port that
    is not published (its service is not running: ``external_ip`` is None)
    is left out, so its route is removed; services left without ports are
    dropped. Without it (a prepare) every proxied port is listed. A
    mapping is taken as an already built ``execution`` object, unchanged.
    """
    if isinstance(execution, Mapping):
        return dict(execution)
    services = []
    for service in execution.services:
        ports = []
        for port in service.ports:
            if not getattr(port, "enable_proxy", False):
                continue
            if with_backends and not _published(port):
                continue
            ports.append(_port_body(port, with_backends))
        if ports:
            services.append({"name": str(service.name), "ports": ports})
    body = {"id": _execution_id(execution.id)}  # type: JSON
    name = getattr(execution, "name", None)
    if name:
        body["name"] = str(name)
    owner = _owner_name(execution)
    if owner:
        body["owner"] = owner
    body["services"] = services
    return body


def prepare_body(execution: Any) -> JSON:
    """``POST /v1/hooks`` body of a prepare: keys and env, nothing written."""
    return {"event": "prepare", "execution": execution_body(execution, with_backends=False)}


def start_body(execution: Any) -> JSON:
    """``POST /v1/hooks`` body of a start: the routes the execution should
    have now (published proxied ports only)."""
    return {"event": "start", "execution": execution_body(execution, with_backends=True)}


def stop_body(execution_id: ExecutionID) -> JSON:
    """``POST /v1/hooks`` body of a stop: only the id is needed."""
    return {"event": "stop", "execution": {"id": _execution_id(execution_id)}}


def resync_body(executions: Iterable[Any]) -> JSON:
    """``PUT /v1/executions`` body: the complete set of running executions.

    Routes of every execution not listed are removed, so pass all running
    ones (an empty list stops every route).
    """
    return {"executions": [execution_body(e, with_backends=True) for e in executions]}


# ---------------------------------------------------------------- configuration


def read_token(path: str) -> str:
    """The bearer token in the file at ``path``, trailing newline removed.

    The file should be readable only by the master's user (mode 0600),
    like the sidecar's own copy.
    """
    try:
        with open(path, "r", encoding="utf-8") as f:
            token = f.read().rstrip("\r\n")
    except OSError as e:
        raise ConfigError("token file {}: {}".format(path, e.strerror or e)) from e
    if not token:
        raise ConfigError("token file {} is empty".format(path))
    if "\n" in token or token != token.strip():
        raise ConfigError("token file {}: the token must be one line without surrounding spaces".format(path))
    return token


def ssl_context(ca_file: Optional[str] = None, cert_file: Optional[str] = None,
                key_file: Optional[str] = None) -> ssl.SSLContext:
    """A client TLS context for the sidecar's HTTPS API.

    ``ca_file`` is the PEM bundle that signed the sidecar's certificate
    (the system's trust store when None). ``cert_file`` and ``key_file``
    are the client certificate and its key, for a sidecar that requires
    mutual TLS (``key_file`` may be omitted when the key is inside
    ``cert_file``). Certificates and host names are always verified.
    """
    if key_file and not cert_file:
        raise ConfigError("a client key needs its certificate (cert_file)")
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError("CA file {}: {}".format(ca_file, e)) from e
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file:
        try:
            context.load_cert_chain(cert_file, key_file)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError("client certificate {} / key {}: {}".format(cert_file, key_file or cert_file, e)) from e
    return context


# ---------------------------------------------------------------- retries


class RetryPolicy(NamedTuple):
    """How 503 answers (and failed connections) are retried.

    Every request is idempotent (prepare writes nothing, a repeated start
    or stop changes nothing, a resync converges), so retrying is safe.
    ``budget`` bounds the whole call, sleeps included, in seconds; a
    ``Retry-After`` longer than what is left ends the call at once.
    Without ``Retry-After`` the delay doubles from ``base`` up to ``cap``.
    """
    budget: float = 30.0
    base: float = 0.5
    cap: float = 5.0
    max_attempts: int = 20
    retry_transport_errors: bool = True


NO_RETRY = RetryPolicy(budget=0.0, max_attempts=1, retry_transport_errors=False)


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an
    HTTP date (RFC 9110). None when absent or unreadable; never negative."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if now is None:
        now = time.time()
    return max(0.0, when.timestamp() - now)


def retry_delay(policy: RetryPolicy, attempt: int, retry_after: Optional[float],
                remaining: float, jitter: Callable[[], float] = random.random) -> Optional[float]:
    """Seconds to sleep before retry number ``attempt`` (1 for the first),
    or None to give up.

    ``retry_after`` is the server's ``Retry-After`` in seconds (honoured
    as given: the sidecar knows when it expects to recover);
    ``remaining`` is what is left of the budget. Without ``Retry-After``
    the delay is exponential with up to 50 % jitter, so that many masters
    do not retry in step.
    """
    if attempt >= policy.max_attempts:
        return None
    if retry_after is not None:
        delay = retry_after
    else:
        delay = min(policy.cap, policy.base * (2 ** (attempt - 1)))
        delay *= 0.5 + 0.5 * jitter()
    if delay > remaining:
        return None
    return delay


# ---------------------------------------------------------------- client


class _Answer(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes


Transport = Callable[[urllib.request.Request, float], _Answer]
RetryObserver = Callable[[int, SidecarError, float], None]


def _duration(seconds: float) -> str:
    # Go's time.ParseDuration form, which ?wait takes.
    if seconds <= 0:
        raise ConfigError("wait must be positive")
    ms = int(math.ceil(seconds * 1000))
    return "{}ms".format(ms) if ms % 1000 else "{}s".format(ms // 1000)


def _wait_query(wait: Optional[float]) -> str:
    return "?" + urllib.parse.urlencode({"wait": _duration(wait)}) if wait else ""


class Client:
    """traefik-zk-sidecar's API, as Zoe uses it.

    ``base_url`` is the sidecar's API (``http://sidecar:8480`` or
    ``https://...``); ``token`` its bearer token; ``timeout`` bounds every
    request in seconds; ``retry`` bounds retries of 503 answers;
    ``context`` is the TLS context for https (see :func:`ssl_context`).
    ``on_retry(attempt, error, delay)`` is called before each retry, for
    logging.
    """

    def __init__(self, base_url: str, token: str, timeout: float = 10.0,
                 retry: RetryPolicy = RetryPolicy(), context: Optional[ssl.SSLContext] = None,
                 on_retry: Optional[RetryObserver] = None,
                 transport: Optional[Transport] = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError("sidecar URL {!r}: want http(s)://host:port".format(base_url))
        if parts.query or parts.fragment:
            raise ConfigError("sidecar URL {!r}: no query or fragment".format(base_url))
        if context is not None and parts.scheme != "https":
            raise ConfigError("TLS settings given for a plain http URL {!r}".format(base_url))
        if not token:
            raise ConfigError("empty token")
        if timeout <= 0:
            raise ConfigError("timeout must be positive")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry
        self.on_retry = on_retry
        self._token = token
        self._sleep = sleep
        self._clock = clock
        if transport is None:
            transport = _urllib_transport(context)
        self._transport = transport

    def __repr__(self) -> str:
        # Never show the token.
        return "Client({!r})".format(self.base_url)

    @classmethod
    def from_config(cls, base_url: str, token_file: str, ca_file: Optional[str] = None,
                    cert_file: Optional[str] = None, key_file: Optional[str] = None,
                    **kwargs: Any) -> "Client":
        """A client with its token read from ``token_file`` and, for an
        https URL, TLS from the given files (see :func:`ssl_context`)."""
        context = None
        if base_url.startswith("https://"):
            context = ssl_context(ca_file, cert_file, key_file)
        elif ca_file or cert_file or key_file:
            raise ConfigError("CA or client certificate given for a plain http URL {!r}".format(base_url))
        return cls(base_url, read_token(token_file), context=context, **kwargs)

    # -- the API

    def prepare(self, execution: Any) -> HookResult:
        """Keys, paths and ``REVERSE_PROXY_PATH_<port>`` of every proxied
        port, before the containers exist. Writes nothing."""
        return self._hook(prepare_body(execution), "")

    def start(self, execution: Any, wait: Optional[float] = None) -> HookResult:
        """Publish the execution's routes (idempotent: post it again when
        services start or stop later). With ``wait`` seconds (at most 300)
        the sidecar answers once Traefik serves every route as written,
        with ``served`` True, or when ``wait`` passes, with ``served``
        False; it needs the sidecar's ``--traefik-api-url``. Make
        ``timeout`` longer than ``wait``."""
        return self._hook(start_body(execution), _wait_query(wait))

    def stop(self, execution_id: ExecutionID, wait: Optional[float] = None) -> HookResult:
        """Make the execution's routes unreachable; lists them. An unknown
        execution is not an error (nothing to remove). With ``wait``
        seconds the sidecar answers once Traefik routes none of them any
        more (``unserved`` True: their paths answer 404), or when ``wait``
        passes (``unserved`` False)."""
        return self._hook(stop_body(execution_id), _wait_query(wait))

    def execution(self, execution_id: ExecutionID) -> Optional[HookResult]:
        """The execution's routes and env, or None when it has none."""
        path = "/v1/executions/" + urllib.parse.quote(str(_execution_id(execution_id)), safe="")
        try:
            answer = self._call("GET", path, None)
        except NotFound:
            return None
        return HookResult.from_json(self._json(answer))

    def routes(self) -> List[Route]:
        """Every route the sidecar owns (stopped ones show no backend)."""
        doc = self._json(self._call("GET", "/v1/routes", None))
        return [Route.from_json(r) for r in doc.get("routes") or []]

    def resync(self, executions: Iterable[Any], dry_run: bool = False) -> SyncResult:
        """Make the sidecar's routes match ``executions``, the complete set
        of running executions (Zoe ``Execution`` objects or built bodies):
        routes of executions not listed are removed. With ``dry_run`` only
        the plan is returned."""
        query = "?dry_run=true" if dry_run else ""
        return SyncResult.from_json(self._json(self._call("PUT", "/v1/executions" + query, resync_body(executions))))

    def ready(self) -> bool:
        """Whether the sidecar is up and its ZooKeeper session is live."""
        try:
            self._call("GET", "/readyz", None, retry=NO_RETRY)
        except SidecarError:
            return False
        return True

    # -- plumbing

    def _hook(self, body: JSON, query: str) -> HookResult:
        answer = self._call("POST", "/v1/hooks" + query, body)
        return HookResult.from_json(self._json(answer), answer.headers.get("Server-Timing", ""))

    @staticmethod
    def _json(answer: _Answer) -> JSON:
        try:
            doc = json.loads(answer.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise SidecarError(answer.status, "answer is not JSON: {}".format(e)) from e
        if not isinstance(doc, dict):
            raise SidecarError(answer.status, "answer is not a JSON object")
        return doc

    def _call(self, method: str, path: str, body: Optional[JSON],
              retry: Optional[RetryPolicy] = None) -> _Answer:
        """One API call: retries 503 and failed connections within the
        policy's budget; raises the typed error of the last failure."""
        policy = self.retry if retry is None else retry
        data = None if body is None else json.dumps(body).encode("utf-8")
        deadline = self._clock() + policy.budget
        attempt = 0
        while True:
            attempt += 1
            request = urllib.request.Request(self.base_url + path, data=data, method=method)
            request.add_header("Authorization", "Bearer " + self._token)
            request.add_header("Accept", "application/json")
            if data is not None:
                request.add_header("Content-Type", "application/json")
            try:
                answer = self._transport(request, self.timeout)
            except TransportError as e:
                if not policy.retry_transport_errors or isinstance(e, TLSError):
                    raise
                error = e  # type: SidecarError
            else:
                if 200 <= answer.status < 300:
                    return answer
                retry_after = parse_retry_after(answer.headers.get("Retry-After"))
                error = error_for(answer.status, answer.body, retry_after)
                if error.field and body is not None:
                    error.where = locate(body, error.field)
                if answer.status != 503:
                    raise error
            delay = retry_delay(policy, attempt, error.retry_after, deadline - self._clock())
            if delay is None:
                raise error
            if self.on_retry is not None:
                self.on_retry(attempt, error, delay)
            self._sleep(delay)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would resend the token elsewhere; the API never redirects.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


def _urllib_transport(context: Optional[ssl.SSLContext]) -> Transport:
    handlers = [_NoRedirect(), urllib.request.ProxyHandler({})]  # type: List[Any]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)

    def send(request: urllib.request.Request, timeout: float) -> _Answer:
        try:
            with opener.open(request, timeout=timeout) as response:
                return _Answer(response.status, _headers(response.headers), response.read())
        except urllib.error.HTTPError as e:
            try:
                return _Answer(e.code, _headers(e.headers), e.read())
            finally:
                e.close()
        except urllib.error.URLError as e:
            raise _transport_error(request, e.reason) from e
        except OSError as e:  # timeouts, resets and TLS errors while reading the answer
            raise _transport_error(request, e) from e

    return send


def _transport_error(request: urllib.request.Request, reason: Any) -> TransportError:
    # Every ssl.SSLError is a TLSError, an EOF in the handshake included:
    # under TLS 1.3 a server that refuses the client's certificate often
    # shows only as that, and retrying it for the whole budget helps nobody.
    message = "{} {}: {}".format(request.get_method(), request.full_url, reason)
    if isinstance(reason, ssl.SSLError):
        return TLSError(0, message)
    return TransportError(0, message)


def _headers(message: Any) -> Dict[str, str]:
    # Header names are case-insensitive; keep the canonical spellings used above.
    out = {}
    for name in ("Retry-After", "Server-Timing", "Content-Type", "WWW-Authenticate"):
        value = message.get(name) if message is not None else None
        if value is not None:
            out[name] = value
    return out


def environ_config(prefix: str = "ZOE_SIDECAR_") -> Tuple[str, str, Dict[str, str]]:
    """Read ``<prefix>URL``, ``<prefix>TOKEN_FILE`` and the optional
    ``<prefix>CA_FILE``, ``<prefix>CERT_FILE``, ``<prefix>KEY_FILE`` from
    the environment, for scripts: ``Client.from_config(url, token_file, **tls)``."""
    url = os.environ.get(prefix + "URL", "")
    token_file = os.environ.get(prefix + "TOKEN_FILE", "")
    if not url or not token_file:
        raise ConfigError("set {0}URL and {0}TOKEN_FILE".format(prefix))
    tls = {}
    for name in ("ca_file", "cert_file", "key_file"):
        value = os.environ.get(prefix + name.upper(), "")
        if value:
            tls[name] = value
    return url, token_file, tls
