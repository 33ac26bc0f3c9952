"""Stand-ins for Zoe's state objects (``zoe_lib.state``), built from a ZApp.

Zoe's master keeps executions, services and ports in PostgreSQL and hands
``Execution`` / ``Service`` / ``Port`` records around. The client's body
builders read only a few of their attributes; these small classes carry
exactly those, with Zoe's names and meaning, so that the tests and the
integration driver exercise the builders the way Zoe's master would,
without Zoe or a database.
"""

import json
from typing import Any, Dict, List, Optional


class User:
    """A Zoe user; the builders read ``username``."""

    def __init__(self, username: str) -> None:
        self.username = username


class Port:
    """A ZApp port of one service instance, as ``zoe_lib.state.Port``.

    ``internal_number`` is the container port, ``enable_proxy`` the ZApp's
    ``proxy`` flag; ``external_ip`` and ``external_port`` are None until the
    back-end publishes the port (``activate``), and again after ``reset``.
    """

    def __init__(self, description: Dict[str, Any]) -> None:
        self.description = description
        self.internal_number = int(description["port_number"])
        self.protocol = description.get("protocol", "tcp")
        self.url_template = description.get("url_template", "")
        self.readable_name = description.get("name", "")
        self.enable_proxy = bool(description.get("proxy", False))
        self.external_ip = None  # type: Optional[str]
        self.external_port = None  # type: Optional[int]

    def activate(self, ext_ip: str, ext_port: int) -> None:
        """The back-end published the port."""
        self.external_ip = ext_ip
        self.external_port = ext_port

    def reset(self) -> None:
        """The back-end no longer publishes the port."""
        self.external_ip = None
        self.external_port = None


class Service:
    """One instance of a ZApp service (``jupyter0``), as ``zoe_lib.state.Service``."""

    def __init__(self, name: str, description: Dict[str, Any], essential: bool) -> None:
        self.name = name
        self.service_group = description["name"]
        self.essential = essential
        self.ports = [Port(p) for p in description.get("ports", [])]


class Execution:
    """A Zoe execution, as ``zoe_lib.state.Execution``."""

    def __init__(self, execution_id: int, name: str, owner: User, services: List[Service]) -> None:
        self.id = execution_id
        self.name = name
        self.owner = owner
        self.services = services

    def service(self, name: str) -> Service:
        """The service instance called ``name``."""
        for s in self.services:
            if s.name == name:
                return s
        raise KeyError(name)


def execution_from_zapp(execution_id: int, name: str, owner: str, zapp: Dict[str, Any]) -> Execution:
    """Expand a ZApp description into service instances the way Zoe's
    scheduler does: each service gives ``essential_count`` essential
    instances then the elastic rest, named ``<name>0`` … ``<name>N-1``."""
    services = []
    for descr in zapp["services"]:
        essential = int(descr.get("essential_count", 1))
        total = int(descr.get("total_count", essential))
        for n in range(total):
            services.append(Service("{}{}".format(descr["name"], n), descr, n < essential))
    return Execution(execution_id, name, User(owner), services)


def load_zapp(path: str) -> Dict[str, Any]:
    """Read a ZApp JSON file."""
    with open(path, "r", encoding="utf-8") as f:
        zapp = json.load(f)  # type: Dict[str, Any]
    return zapp
