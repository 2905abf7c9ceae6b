"""The live twin: connections to a running pilot line (MQTT, OPC UA, replay of recorded
pilot data), its state kept in step, forecasts from now and residual monitoring.

Plant-facing libraries (``aiomqtt``, ``asyncua``) are an optional extra (``pip install
pilot-twin[live]``) and are imported only by the modules that talk to them, so ``import twin``
and ``import twin.live`` stay light.
"""
