"""The system plan: one optimised network for all destinations (fixed-charge network flow).

Modules: :mod:`~planner.plan.options` (the study's ``[plan]`` table),
:mod:`~planner.plan.candidates` (candidate network), :mod:`~planner.plan.optimise` (the
MILP), :mod:`~planner.plan.tree_dp` (tree plans and a bound by a subset DP),
:mod:`~planner.plan.check` (hydraulic check of the chosen design),
:mod:`~planner.plan.outputs` (tables, map layer, report section) and
:mod:`~planner.plan.run` (what a study run calls).
"""
