"""Right-hand sides and end-condition functions of the process models.

Each module holds, for one model, the parameter-vector layout (index constants), the ODE
right-hand side ``rhs(t, y, p, dydt)`` and the terminal-event function ``events(t, y, p, g)``.
:mod:`twin.kernels.rhs.dispatch` selects a model by integer id so that one cached integrator
serves every model (see :mod:`twin.kernels.integrate` for why).
"""
