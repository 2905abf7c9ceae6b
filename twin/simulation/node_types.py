"""Which node class runs each station type: the simulation side of the station registry.

A station type is a spec class (:mod:`twin.data.registry`: its ``type``, signals and
drawing) and a node class that runs it and names it as ``spec_type``.
:func:`register_station` takes the node class and registers both, so an extension makes
one call::

    from twin.simulation.node_types import register_station
    register_station(PrinterNode)        # PrinterNode.spec_type = Printer

The compiled engine runs only the types it lowers (:mod:`twin.simulation.compiled.lower`)
and says why it cannot run a line with any other.
"""

from __future__ import annotations

from typing import Any

from twin.data import registry
from twin.process import scaleup
from twin.simulation.continuous import ContinuousNode, TankNode
from twin.simulation.flow import Node, SinkNode, SourceNode
from twin.simulation.process_unit import ProcessNode
from twin.simulation.stations import AssemblyNode, BatchNode, InspectionNode, MachineNode

BUILTIN_NODES: tuple[type[Node], ...] = (SourceNode, SinkNode, MachineNode, InspectionNode,
                                         BatchNode, AssemblyNode, ProcessNode, TankNode,
                                         ContinuousNode)
"""The node classes of the built-in station types."""

_NODES: dict[type, type[Node]] = {n.spec_type: n for n in BUILTIN_NODES}


def register_station(node: type[Node]) -> type[Node]:
    """Register a station type by its node class: ``node.spec_type`` is accepted in line
    specs (:func:`twin.data.registry.register_station`) and runs as ``node``. Idempotent;
    returns ``node`` (usable as a class decorator).

    Raises
    ------
    twin.data.registry.RegistrationError
        If ``node`` is not a :class:`~twin.simulation.flow.Node` naming its own spec class,
        or the spec class cannot be registered, or another node runs it.
    """
    if not (isinstance(node, type) and issubclass(node, Node)):
        raise registry.RegistrationError(f"{node!r} is not a node class (a subclass of "
                                         "twin.simulation.flow.Node)")
    spec = node.__dict__.get("spec_type")
    if spec is None:
        raise registry.RegistrationError(f"{node.__name__} must name the spec class it runs "
                                         "as its own class attribute spec_type")
    held = _NODES.get(spec)
    if held is not None and held is not node:
        raise registry.RegistrationError(f"{spec.__name__} already runs as {held.__name__}")
    registry.register_station(spec)
    _NODES[spec] = node
    return node


def unregister_station(node: type[Node]) -> None:
    """Forget a registered (not built-in) station type and its node class."""
    registry.unregister(node.spec_type)
    _NODES.pop(node.spec_type, None)
    scaleup.unregister_scaling(node.spec_type)


def node_class(spec: Any) -> type[Node]:
    """The node class that runs the station spec ``spec``.

    Raises
    ------
    twin.data.registry.RegistrationError
        If its station type has no node class in this process (an extension registered
        only its spec class, or only in another process).
    """
    found = _NODES.get(type(spec))
    if found is None and registry.load_extensions():
        found = _NODES.get(type(spec))
    if found is None:
        raise registry.RegistrationError(
            f"station type {spec.type!r} ({type(spec).__qualname__}) has no node class in "
            "this process: register its node class with "
            "twin.simulation.node_types.register_station (or install it as an extension, "
            f"entry point group {registry.ENTRY_POINT_GROUP!r}, which every process loads)")
    return found
