"""Locust scenarios. Run only in a subprocess (`python -m locust -f loadtests/<profile>.py`): importing locust
monkey-patches the whole process with gevent, so the harness process never imports this package."""
