"""The production WSGI application with some intake after-write hooks left out (bench only).

``HCP_BENCH_WITHOUT=rollups`` (comma-separated: rollups, cases, seal) removes those hooks in this process, so that
bench/intake_http.py can measure single-rating POSTs with and without them side by side, on the same database.
"""

import importlib
import os

# In this order: the WSGI module sets Django up (the hooks are registered then), intake is imported after it.
application = importlib.import_module("haochaping.wsgi").application
intake = importlib.import_module("haochaping.ratings.intake")

_MODULES = {"cases": "haochaping.cases.", "rollups": "haochaping.analytics.", "seal": "haochaping.seal."}
_left_out = tuple(_MODULES[n.strip()] for n in os.environ.get("HCP_BENCH_WITHOUT", "").split(",") if n.strip())
intake._after_write[:] = [(w, h) for w, h in intake._after_write if not h.__module__.startswith(_left_out)]
