"""Backtests: the planner's answers checked against what was built."""
