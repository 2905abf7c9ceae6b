"""Connection settings of a live source: a small TOML file (not the line spec), its security
rules, and the guard that keeps the twin read-only towards the plant.

A connection file names one source (``kind = "mqtt"`` or ``"opcua"``), where it is, how to
authenticate, and the ordering rules of its readings (see docs/LIVE.md)::

    kind = "opcua"
    url = "opc.tcp://plc-7.plant.local:4840"
    security_policy = "Basic256Sha256"      # or "None"
    security_mode = "SignAndEncrypt"        # or "Sign" ("None" with policy None)
    certificate = "certs/twin-cert.der"     # paths relative to this file
    private_key = "certs/twin-key.pem"
    private_key_password_env = "TWIN_KEY_PASSPHRASE"
    username = "twin"
    password_env = "TWIN_OPCUA_PASSWORD"
    lateness = 2.0                          # s
    clock_offset = 0.0                      # s, added to plant times
    allow_writes = []                       # tags the twin may write (default: none)

    [nodes]
    TI101 = "ns=2;s=Line1.TI101"

Secrets come only from environment variables the file names (``*_env`` keys); a password
written in the file is refused with its line. MQTT to a host other than localhost needs TLS
and a username, and OPC UA to another host needs a security policy, unless the file says
``allow_insecure = true``.
"""

from __future__ import annotations

import math
import os
import random
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
"""Hosts that count as this machine (no TLS or security policy needed)."""
SECRET_KEYS = ("password", "passphrase", "private_key_password", "key_password", "secret",
               "token")
"""Keys that would hold a secret: refused in a file (name an environment variable with
``<key>_env`` instead)."""
OPCUA_POLICIES = ("None", "Basic256Sha256")
OPCUA_MODES = ("None", "Sign", "SignAndEncrypt")
TIMESTAMPS = ("source", "server")


class ConnectionSettingsError(ValueError):
    """A connection file or setting that cannot be used; the message names the file, the
    line or key, and what to do."""


class WriteRefused(PermissionError):
    """A write to the plant that the connection settings do not allow."""


@dataclass(frozen=True)
class Common:
    """Settings every source has: ``name``; ``lateness`` and ``clock_offset`` [s] (see
    :mod:`twin.live.tagchecks`); ``allow_writes``: tags the twin may write;
    ``allow_insecure``: lift the TLS / security-policy requirement for remote hosts;
    ``backoff_initial`` and ``backoff_max`` [s]: reconnect delays (doubling, with jitter
    from a generator seeded with ``seed``)."""

    name: str = "plant"
    lateness: float = 0.0
    clock_offset: float = 0.0
    allow_writes: tuple[str, ...] = ()
    allow_insecure: bool = False
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    seed: int = 0


@dataclass(frozen=True)
class MqttSettings(Common):
    """An MQTT broker: ``host``, ``port``, topic ``prefix`` (see :mod:`twin.live.wire`), a
    fixed ``client_id`` (the broker keeps its session while the twin is away), ``username``
    and the environment variable of its password, TLS (``tls``, ``ca_file``, ``cert_file``,
    ``key_file``, ``key_password_env``), ``keepalive`` [s]."""

    host: str = "127.0.0.1"
    port: int = 1883
    prefix: str = "plant"
    client_id: str = "pilot-twin"
    username: str = ""
    password_env: str = ""
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    key_password_env: str = ""
    keepalive: int = 30


@dataclass(frozen=True)
class OpcUaSettings(Common):
    """An OPC UA server: ``url``, ``nodes`` (tag -> node id), security (``security_policy``,
    ``security_mode``, ``certificate``, ``private_key``, ``private_key_password_env``,
    ``server_certificate``), ``username`` and ``password_env``, which ``timestamps`` a
    reading takes (``source``: the device's, falling back to the server's when absent;
    ``server``: the server's), ``publishing_interval`` [s] of the subscription."""

    url: str = "opc.tcp://127.0.0.1:4840"
    nodes: Mapping[str, str] = field(default_factory=dict)
    security_policy: str = "None"
    security_mode: str = "None"
    certificate: str = ""
    private_key: str = ""
    private_key_password_env: str = ""
    server_certificate: str = ""
    username: str = ""
    password_env: str = ""
    timestamps: str = "source"
    publishing_interval: float = 0.1


Settings = MqttSettings | OpcUaSettings
KINDS: dict[str, type[MqttSettings] | type[OpcUaSettings]] = {
    "mqtt": MqttSettings, "opcua": OpcUaSettings}
_PATH_KEYS = ("ca_file", "cert_file", "key_file", "certificate", "private_key",
              "server_certificate")


def _where(source: str, text: str, key: str) -> str:
    """``file: line N`` of the first line that sets ``key`` (or just the file)."""
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=", re.MULTILINE)
    m = pattern.search(text)
    return f"{source}: line {text.count(chr(10), 0, m.start()) + 1}" if m else source


def _coerce(cls: type, key: str, value: Any, where: str) -> Any:
    """``value`` as the type of field ``key`` of ``cls``; a located error if it is not."""
    default = next(f for f in fields(cls) if f.name == key)
    typ = default.type if isinstance(default.type, str) else str(default.type)
    ok = {"str": isinstance(value, str), "bool": isinstance(value, bool),
          "int": isinstance(value, int) and not isinstance(value, bool),
          "float": isinstance(value, int | float) and not isinstance(value, bool),
          "tuple[str, ...]": isinstance(value, list) and all(isinstance(v, str)
                                                              for v in value),
          "Mapping[str, str]": isinstance(value, dict) and all(
              isinstance(v, str) for v in value.values())}.get(typ, True)
    if not ok:
        raise ConnectionSettingsError(f"{where}: {key} = {value!r} must be {typ}")
    if typ == "float" and not math.isfinite(value):
        raise ConnectionSettingsError(f"{where}: {key} = {value!r} must be finite")
    return tuple(value) if typ == "tuple[str, ...]" else (
        float(value) if typ == "float" else value)


def settings_from_dict(data: Mapping[str, Any], source: str = "connection settings",
                       text: str = "", base: Path | None = None) -> Settings:
    """Check and build the settings of ``data`` (a parsed connection file).

    ``source`` and ``text`` locate errors; relative paths are taken from ``base``.
    """
    for key in data:
        if key.lower().endswith(SECRET_KEYS):  # password_env etc. end otherwise
            raise ConnectionSettingsError(
                f"{_where(source, text, key)}: {key!r} holds a secret, which is never read "
                f"from a file; put it in an environment variable and name it: "
                f"{key}_env = \"TWIN_...\"")
    kind = data.get("kind")
    if kind not in KINDS:
        raise ConnectionSettingsError(f"{_where(source, text, 'kind')}: kind = {kind!r} must "
                                      f"be one of {', '.join(map(repr, KINDS))}")
    cls = KINDS[kind]
    names = {f.name for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "kind":
            continue
        if key not in names:
            raise ConnectionSettingsError(
                f"{_where(source, text, key)}: unknown key {key!r} for kind {kind!r} "
                f"(keys: {', '.join(sorted(names))})")
        values[key] = _coerce(cls, key, value, _where(source, text, key))
        if key in _PATH_KEYS and value and base is not None:
            values[key] = str((base / value).resolve())
    settings = cls(**values)
    check_security(settings, lambda key: _where(source, text, key))
    return settings


def check_security(s: Settings, where: Any = None) -> None:
    """Refuse settings that would talk to a remote plant in the clear, or are inconsistent.

    ``where(key)`` locates a key in the file (default: the key name).
    """
    loc = where or (lambda key: key)
    if not s.backoff_initial > 0 or s.backoff_max < s.backoff_initial:
        raise ConnectionSettingsError(f"{loc('backoff_max')}: back-off needs 0 < "
                                      f"backoff_initial <= backoff_max")
    if s.lateness < 0:
        raise ConnectionSettingsError(f"{loc('lateness')}: lateness must be >= 0 s")
    if isinstance(s, MqttSettings):
        remote = s.host.strip("[]").lower() not in LOCAL_HOSTS
        if remote and not s.allow_insecure and not (s.tls and s.username):
            raise ConnectionSettingsError(
                f"{loc('host')}: MQTT to {s.host!r} (not this machine) needs tls = true and a "
                f"username with password_env; set allow_insecure = true to connect anyway")
        if (s.cert_file == "") != (s.key_file == ""):
            raise ConnectionSettingsError(f"{loc('cert_file')}: a client certificate needs "
                                          f"both cert_file and key_file")
        return
    host = (urlparse(s.url).hostname or "").lower()
    if urlparse(s.url).scheme != "opc.tcp" or not host:
        raise ConnectionSettingsError(f"{loc('url')}: {s.url!r} is not an opc.tcp://host:port "
                                      f"URL")
    if s.security_policy not in OPCUA_POLICIES:
        raise ConnectionSettingsError(f"{loc('security_policy')}: {s.security_policy!r} must "
                                      f"be one of {', '.join(OPCUA_POLICIES)}")
    if s.security_mode not in OPCUA_MODES or (
            (s.security_policy == "None") != (s.security_mode == "None")):
        raise ConnectionSettingsError(
            f"{loc('security_mode')}: security_mode {s.security_mode!r} does not fit policy "
            f"{s.security_policy!r} (None goes with None; Basic256Sha256 with Sign or "
            f"SignAndEncrypt)")
    if s.security_policy != "None" and not (s.certificate and s.private_key):
        raise ConnectionSettingsError(f"{loc('certificate')}: security policy "
                                      f"{s.security_policy} needs certificate and private_key")
    if host not in LOCAL_HOSTS and s.security_policy == "None" and not s.allow_insecure:
        raise ConnectionSettingsError(
            f"{loc('url')}: OPC UA to {host!r} (not this machine) needs a security policy; "
            f"set allow_insecure = true to connect without one")
    if s.timestamps not in TIMESTAMPS:
        raise ConnectionSettingsError(f"{loc('timestamps')}: timestamps must be one of "
                                      f"{', '.join(TIMESTAMPS)}")
    if not s.nodes:
        raise ConnectionSettingsError(f"{loc('nodes')}: an OPC UA connection needs a [nodes] "
                                      f"table (tag = \"node id\")")


def load_connection(path: str | Path) -> Settings:
    """Read and check a connection file (TOML; see the module docstring)."""
    p = Path(path)
    try:
        text = p.read_text()
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConnectionSettingsError(f"{p}: cannot read the connection file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConnectionSettingsError(f"{p}: not valid TOML: {exc}") from None
    return settings_from_dict(data, str(p), text, p.parent)


def secret(env: str, what: str) -> str | None:
    """The secret in environment variable ``env`` (None when no variable is named); a clear
    error when it is named but not set."""
    if not env:
        return None
    value = os.environ.get(env)
    if value is None:
        raise ConnectionSettingsError(f"the {what} is to come from the environment variable "
                                      f"{env}, which is not set")
    return value


class Backoff:
    """Reconnect delays [s]: ``min(cap, initial * 2**n)`` after the n-th failed attempt in a
    row, times a jitter in [0.5, 1) from ``random.Random(seed)`` (same seed, same delays);
    :meth:`reset` after a successful connection."""

    def __init__(self, initial: float, cap: float, seed: int) -> None:
        self.initial, self.cap, self.rng, self.n = initial, cap, random.Random(seed), 0

    def next(self) -> float:
        delay = min(self.cap, self.initial * 2.0 ** self.n) * (0.5 + 0.5 * self.rng.random())
        self.n = min(self.n + 1, 62)
        return delay

    def reset(self) -> None:
        self.n = 0


class PlantWriter:
    """The guard in front of every write to the plant: the twin is read-only unless a tag is
    in ``allow`` (the connection file's ``allow_writes``).

    ``write(tag, value)`` is the source's low-level write; it is called only for allowed
    tags. Refused writes raise :class:`WriteRefused` and nothing is sent.
    """

    def __init__(self, allow: Iterable[str], write: Any, *, source: str = "plant") -> None:
        self.allow = frozenset(allow)
        self._write = write
        self.source = source

    def check(self, tag: str) -> None:
        """Raise :class:`WriteRefused` unless ``tag`` may be written."""
        if tag not in self.allow:
            allowed = ", ".join(sorted(self.allow)) or "none"
            raise WriteRefused(f"the twin is read-only towards {self.source}: writing tag "
                               f"{tag!r} is refused (allow_writes in the connection file: "
                               f"{allowed})")

    async def write(self, tag: str, value: float) -> None:
        """Write ``value`` to ``tag`` if allowed (see :meth:`check`)."""
        self.check(tag)
        await self._write(tag, value)
