"""Exact throughput of serial lines of exponential machines, by their Markov chain.

A test reference, independent of the engines: machine ``i`` works at rate ``mu[i]`` [1/s];
buffer ``i`` (between machine ``i`` and ``i + 1``) holds ``buffers[i]`` parts (0 = direct
hand-over); the first machine is never starved (infinite supply), the last never blocked;
blocking after service (a finished part waits on its machine until the buffer downstream has
room). A machine may be unreliable: it fails at rate ``fail[i]`` while working (operation
dependent failures) and is repaired at rate ``repair[i]``; a failed machine keeps its part and
resumes it (memoryless, so resume equals restart).

State of a machine: ``W`` working on a part, ``B`` blocked holding a finished part, ``S``
starved, ``D`` down (with a part in process). The chain is built by exploring the states
reachable from an empty line; the throughput is the stationary rate of departures from the last
machine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.linalg import null_space

State = tuple[tuple[int, ...], tuple[str, ...]]


def _settle(levels: list[int], status: list[str], caps: Sequence[int]) -> None:
    """Move parts as far as they go at one instant: blocked parts into buffers or starved
    machines, starved machines take parts from their buffer (machine 0 always has one)."""
    n = len(status)
    changed = True
    while changed:
        changed = False
        for i in range(n):
            if status[i] == "S":
                if i == 0:
                    status[i] = "W"
                    changed = True
                elif caps[i - 1] > 0 and levels[i - 1] > 0:
                    levels[i - 1] -= 1
                    status[i] = "W"
                    changed = True
                elif caps[i - 1] == 0 and status[i - 1] == "B":
                    status[i - 1] = "S"
                    status[i] = "W"
                    changed = True
            if status[i] == "B" and i < n - 1:
                if caps[i] > 0 and levels[i] < caps[i]:
                    levels[i] += 1
                    status[i] = "S"
                    changed = True
                # zero buffer: the hand-over happens when machine i + 1 starves (above)


def _transitions(state: State, mu: Sequence[float], caps: Sequence[int],
                 fail: Sequence[float], repair: Sequence[float]) -> list[tuple[State, float, bool]]:
    levels, status = state
    out: list[tuple[State, float, bool]] = []
    n = len(status)
    for i in range(n):
        if status[i] == "W":
            lv, st = list(levels), list(status)
            st[i] = "S" if i == n - 1 else "B"
            _settle(lv, st, caps)
            out.append(((tuple(lv), tuple(st)), mu[i], i == n - 1))
            if fail[i] > 0:
                st2 = list(status)
                st2[i] = "D"
                out.append(((levels, tuple(st2)), fail[i], False))
        elif status[i] == "D":
            st2 = list(status)
            st2[i] = "W"
            out.append(((levels, tuple(st2)), repair[i], False))
    return out


def throughput(mu: Sequence[float], buffers: Sequence[int], fail: Sequence[float] | None = None,
               repair: Sequence[float] | None = None) -> float:
    """Long-run output rate [1/s] of the line (exact, from the stationary distribution)."""
    n = len(mu)
    if len(buffers) != n - 1:
        raise ValueError("a line of n machines has n - 1 buffers")
    fail = fail or [0.0] * n
    repair = repair or [1.0] * n
    levels, status = [0] * (n - 1), ["S"] * n
    _settle(levels, status, buffers)
    start: State = (tuple(levels), tuple(status))
    index = {start: 0}
    edges: list[tuple[int, int, float, bool]] = []
    todo = [start]
    while todo:
        s = todo.pop()
        for t, rate, leaves in _transitions(s, mu, buffers, fail, repair):
            if t not in index:
                index[t] = len(index)
                todo.append(t)
            edges.append((index[s], index[t], rate, leaves))
    q = np.zeros((len(index), len(index)))
    for a, b, rate, _ in edges:
        q[a, b] += rate
        q[a, a] -= rate
    pi = null_space(q.T)[:, 0]
    pi = pi / pi.sum()
    return float(sum(pi[a] * rate for a, _, rate, leaves in edges if leaves))
