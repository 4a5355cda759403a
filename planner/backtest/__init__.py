"""Backtests of the planner against what was built (one module per concern).

- :mod:`planner.backtest.routes`: least-cost routes against built pipelines, and the
  calibration of the cost surface on them (``planner backtest routes``,
  ``planner calibrate routes``).
- :mod:`planner.backtest.costs`: designs and CAPEX against published projects
  (``planner backtest costs``).
- :mod:`planner.backtest.bootstrap`: how well the reference set determines that
  calibration, the whole fit rerun on resamples (``planner backtest costs --bootstrap N``).
"""
