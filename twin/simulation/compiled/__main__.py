"""``python -m twin.simulation.compiled``: compile the kernel into Numba's cache once."""

import time

from twin.simulation.compiled.engine import warm

t0 = time.perf_counter()
warm()
print(f"compiled engine ready ({time.perf_counter() - t0:.1f} s; later processes load it "
      "from the cache)")
