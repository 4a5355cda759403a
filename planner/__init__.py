"""planner: a geospatial planner for natural-gas transit routes.

Modules, one per concern:

- :mod:`planner.settings`: defaults in one documented place;
- :mod:`planner.schema`, :mod:`planner.validation`: layer schemas and their validation;
- :mod:`planner.io`: loaders (``<thing>_from_<source>``) and atomic writers;
- :mod:`planner.curation`: the curated default layers derived from ``geodata/raw``;
- :mod:`planner.layers`: the bundle of a study's layers;
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
