"""The twin as an OPC UA server: an address space that mirrors the line, for SCADA and HMI
tools and virtual commissioning.

Under ``Objects`` the server holds one folder named after the line, with (see
:func:`twin.live.points.line_points`)::

    <line>/clock                         simulated time [s]
    <line>/<station>/state               state of each server (state_1, state_2, ...)
    <line>/<station>/completed           parts or batches completed there
    <line>/<station>/buffer|contents|temperature   the station's signals
    <line>/wip, Utilities/<name>, Emissions/<species>
    <line>/KPIs/<catalogue key>          KPIs of the catalogue (and the rolling KPIs)
    <line>/Alarms/<alarm>/state|active|acknowledged|value|limit|priority

Every variable has a string node id ``<line>.<path>`` in the namespace
``urn:pilot-twin:<line>``, its description, and an ``EngineeringUnits`` property
(UNECE code as UnitId, where the unit has one) when it has a unit. Values carry the
simulated time as source timestamp (the plant clock: ``origin`` + run time).

Security: the server binds to 127.0.0.1 unless told otherwise; every variable is read-only
to clients except the points named writable (a write elsewhere is answered
``BadUserAccessDenied``, for every user: no remote admin). :class:`ServerSecurity` reads the
security policy, certificate and key paths and a user with password from the environment
(:data:`ENV`); a password is never read from a file.
"""

from __future__ import annotations

import difflib
import hmac
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asyncua import Node, Server, ua
from asyncua.common.callback import CallbackType
from asyncua.crypto.permission_rules import User, UserRole

from twin.live.points import Point

log = logging.getLogger(__name__)

ENV = {"user": "TWIN_OPCUA_USER", "password": "TWIN_OPCUA_PASSWORD",
       "policy": "TWIN_OPCUA_SECURITY", "certificate": "TWIN_OPCUA_CERT",
       "private_key": "TWIN_OPCUA_KEY"}
"""Environment variables of the server's security settings."""

POLICIES = {
    "None": ua.SecurityPolicyType.NoSecurity,
    "Basic256Sha256_Sign": ua.SecurityPolicyType.Basic256Sha256_Sign,
    "Basic256Sha256_SignAndEncrypt": ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
}
"""Security policies the server offers, by the name written in :data:`ENV` ``policy``."""

UNECE = {"s": "SEC", "h": "HUR", "degC": "CEL", "K": "KEL", "kg": "KGM", "kg O2": "KGM",
         "W": "WTT", "kW": "KWT", "kWh": "KWH", "m3": "MTQ", "m3/h": "MQH", "m3/s": "MQS",
         "kg/h": "E93", "kg/s": "KGS", "1/h": "H10", "units/h": "H10", "%": "P1",
         "units": "C62", "years": "ANN"}
"""UNECE Recommendation 20 common codes of the display units served."""
UNITS_NAMESPACE = "http://www.opcfoundation.org/UA/units/un/cefact"

_VARIANT = {"float": ua.VariantType.Double, "int": ua.VariantType.Int64,
            "str": ua.VariantType.String, "bool": ua.VariantType.Boolean}
_EMPTY = {"float": math.nan, "int": 0, "str": "", "bool": False}


def eu_information(unit: str) -> ua.EUInformation:
    """The OPC UA ``EUInformation`` of a display unit (UnitId -1 if it has no UNECE code)."""
    code = UNECE.get(unit)
    unit_id = -1
    if code is not None:
        unit_id = 0
        for ch in code:
            unit_id = (unit_id << 8) | ord(ch)
    return ua.EUInformation(NamespaceUri=UNITS_NAMESPACE, UnitId=unit_id,
                            DisplayName=ua.LocalizedText(unit), Description=ua.LocalizedText(unit))


@dataclass(frozen=True)
class ServerSecurity:
    """Security of the twin's server.

    ``policy``: a key of :data:`POLICIES`; ``certificate`` and ``private_key``: paths of the
    server's certificate and key (needed by every policy but ``None``); ``user`` and
    ``password``: the one user allowed in (anonymous clients are then refused); without a
    user, clients connect anonymously.
    """

    policy: str = "None"
    certificate: Path | None = None
    private_key: Path | None = None
    user: str | None = None
    password: str | None = None

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"security policy {self.policy!r} is not one of "
                             f"{', '.join(POLICIES)} ({ENV['policy']})")
        if self.policy != "None" and not (self.certificate and self.private_key):
            raise ValueError(f"security policy {self.policy} needs a certificate and a private "
                             f"key ({ENV['certificate']}, {ENV['private_key']})")
        if (self.user is None) != (self.password is None):
            raise ValueError(f"set both {ENV['user']} and {ENV['password']}, or neither")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSecurity:
        """The settings in the environment (:data:`ENV`); unset ones take the defaults."""
        env = os.environ if environ is None else environ

        def get(key: str) -> str | None:
            return env.get(ENV[key]) or None

        cert, key = get("certificate"), get("private_key")
        return cls(get("policy") or "None", Path(cert) if cert else None,
                   Path(key) if key else None, get("user"), get("password"))


class _Users:
    """Lets in anonymous clients (no user set) or the one user with its password; never
    an administrator, so the access levels of the nodes hold for everyone."""

    def __init__(self, user: str | None, password: str | None) -> None:
        self.user, self.password = user, password

    def get_user(self, iserver: Any, username: str | None = None,
                 password: str | None = None, certificate: Any = None) -> User | None:
        if self.user is None:
            return User(role=UserRole.User)
        if username is None or password is None:
            return None
        ok = hmac.compare_digest(username.encode(), self.user.encode()) and \
            hmac.compare_digest(str(password).encode(), str(self.password).encode())
        return User(role=UserRole.User, name=username) if ok else None


class TwinServer:
    """An OPC UA server of a line's points (use ``async with`` or :meth:`start` /
    :meth:`stop`).

    Parameters
    ----------
    line_name
        The line's name (the top folder and the namespace).
    points
        What the server holds (:func:`twin.live.points.line_points`).
    host, port
        Where it listens (127.0.0.1 by default: the twin is not exposed unless asked).
    writable
        Keys of points (``Alarms.hot.acknowledged``) clients may write; all others refuse.
    on_write
        Called with ``(point, value)`` after a client wrote a writable point.
    security
        Policy, certificate and user; default :meth:`ServerSecurity.from_env`.
    origin
        Plant-clock time of run time 0 [s since the epoch] (source timestamps).

    Raises
    ------
    ValueError
        If ``writable`` names a point that does not exist (the message names close keys).
    """

    def __init__(self, line_name: str, points: Iterable[Point], *, host: str = "127.0.0.1",
                 port: int = 4840, writable: Iterable[str] = (),
                 on_write: Callable[[Point, Any], None] | None = None,
                 security: ServerSecurity | None = None, origin: float = 0.0) -> None:
        self.line_name = line_name
        self.points = list(points)
        self.by_key = {p.key: p for p in self.points}
        self.writable = set(writable)
        unknown = sorted(self.writable - set(self.by_key))
        if unknown:
            close = difflib.get_close_matches(unknown[0], list(self.by_key), n=3)
            raise ValueError(f"no point {unknown[0]!r} to make writable"
                             + (f"; did you mean {', '.join(map(repr, close))}?" if close
                                else ""))
        self.host, self.port = host, int(port)
        self.on_write = on_write
        self.security = security if security is not None else ServerSecurity.from_env()
        self.origin = float(origin)
        self.namespace = f"urn:pilot-twin:{line_name}"
        self.nodes: dict[str, Node] = {}  # by point source
        self._point_of_node: dict[ua.NodeId, Point] = {}
        self._server: Server | None = None

    @property
    def endpoint(self) -> str:
        """The URL clients connect to."""
        return f"opc.tcp://{self.host}:{self.port}"

    async def __aenter__(self) -> TwinServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Build the address space and start listening."""
        sec = self.security
        server = Server(user_manager=_Users(sec.user, sec.password))
        await server.init()
        server.allow_remote_admin(False)
        server.set_endpoint(self.endpoint)
        server.set_server_name(f"Pilot Twin: {self.line_name}")
        if sec.policy != "None":
            assert sec.certificate is not None and sec.private_key is not None
            await server.load_certificate(str(sec.certificate))
            await server.load_private_key(str(sec.private_key))
        server.set_security_policy([POLICIES[sec.policy]])
        if sec.user is not None:
            server.set_identity_tokens([ua.UserNameIdentityToken])
        idx = await server.register_namespace(self.namespace)
        await self._build(server, idx)
        server.subscribe_server_callback(CallbackType.PostWrite, self._written)
        await server.start()
        self._server = server
        log.info("OPC UA server of %s at %s (policy %s%s)", self.line_name, self.endpoint,
                 sec.policy, ", user login" if sec.user else ", anonymous")

    async def stop(self) -> None:
        """Stop listening (safe to call twice)."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop()

    async def _build(self, server: Server, idx: int) -> None:
        root = await server.nodes.objects.add_folder(ua.NodeId(self.line_name, idx),
                                                     ua.QualifiedName(self.line_name, idx))
        folders: dict[tuple[str, ...], Node] = {(): root}
        for point in self.points:
            parent = await self._folder(folders, point.path[:-1], idx)
            node_id = ua.NodeId(f"{self.line_name}.{point.key}", idx)
            var = await parent.add_variable(node_id, ua.QualifiedName(point.path[-1], idx),
                                            ua.Variant(_EMPTY[point.kind], _VARIANT[point.kind]))
            await var.write_attribute(ua.AttributeIds.Description, ua.DataValue(
                ua.Variant(ua.LocalizedText(point.description), ua.VariantType.LocalizedText)))
            await server.write_attribute_value(var.nodeid, ua.DataValue(
                ua.Variant(_EMPTY[point.kind], _VARIANT[point.kind]),
                StatusCode=ua.StatusCode(ua.StatusCodes.BadWaitingForInitialData)))
            if point.unit and point.kind in ("float", "int"):
                await var.add_property(ua.NodeId(f"{node_id.Identifier}.EngineeringUnits", idx),
                                       ua.QualifiedName("EngineeringUnits", 0),
                                       eu_information(point.unit))
            if point.key in self.writable:
                await var.set_writable(True)
            self.nodes[point.source] = var
            self._point_of_node[var.nodeid] = point

    async def _folder(self, folders: dict[tuple[str, ...], Node], path: tuple[str, ...],
                      idx: int) -> Node:
        if path in folders:
            return folders[path]
        parent = await self._folder(folders, path[:-1], idx)
        node_id = ua.NodeId(f"{self.line_name}.{'.'.join(path)}", idx)
        folders[path] = await parent.add_folder(node_id, ua.QualifiedName(path[-1], idx))
        return folders[path]

    async def write(self, changed: Mapping[str, tuple[float, Any]]) -> None:
        """Publish changed values (``{point source: (run time [s], value)}``, as
        :meth:`twin.live.points.PointValues.update` returns them)."""
        server = self._server
        if server is None:
            raise RuntimeError("the server is not running")
        for source, (t, value) in changed.items():
            var = self.nodes.get(source)
            if var is None:
                continue
            point = self._point_of_node[var.nodeid]
            variant = _variant(point, value)
            if variant is None:
                continue
            stamp = ua.DataValue(variant, SourceTimestamp=_datetime(self.origin + t),
                                 ServerTimestamp=None)
            await server.write_attribute_value(var.nodeid, stamp)

    async def _written(self, event: Any, dispatcher: Any) -> None:
        """A client wrote: hand writes that went through to ``on_write``."""
        if not event.is_external or self.on_write is None:
            return
        for item, status in zip(event.request_params.NodesToWrite, event.response_params,
                                strict=True):
            point = self._point_of_node.get(item.NodeId)
            if point is not None and status.is_good():
                self.on_write(point, item.Value.Value.Value)


def _variant(point: Point, value: Any) -> ua.Variant | None:
    """The value as the point's variant type (``None`` if it cannot be one)."""
    if point.kind == "float":
        return ua.Variant(float(value) if value is not None else math.nan,
                          ua.VariantType.Double)
    if point.kind == "int":
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return None
        return ua.Variant(int(value), ua.VariantType.Int64)
    if point.kind == "bool":
        return ua.Variant(bool(value), ua.VariantType.Boolean)
    return ua.Variant("" if value is None else str(value), ua.VariantType.String)


def _datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
