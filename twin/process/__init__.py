"""Process physics without a clock: what recipes do to batches, materials, the scale-up of a
line spec and thermal-safety assessment.

This layer sits between :mod:`twin.data` (specs) and :mod:`twin.observation`; it calls the
numerical kernels (:mod:`twin.kernels`) and never touches the simulation clock, so the engine
(:mod:`twin.simulation`), scale-up studies and notebooks share one implementation.

- :mod:`twin.process.materials`: species properties as arrays;
- :mod:`twin.process.phases`: one recipe phase on one batch -> an ``Outcome``;
- :mod:`twin.process.scaleup`: a line spec scaled to another volume, with its derivation;
- :mod:`twin.process.safety`: the reaction's cooling check (Semenov), cooling-failure scan,
  Stoessel assessment and Monte Carlo of the peak temperature.
"""
