"""The union as a cooperative game: coalition values from restricted system plans, fair
shares (Shapley, core, nucleolus) and a price corridor per buyer.

Modules: :mod:`~planner.coalition.game` (TU-game solutions), :mod:`~planner.coalition.spec`
(the study's ``[coalitions]`` table), :mod:`~planner.coalition.values` (coalition values,
the Dask sweep), :mod:`~planner.coalition.report` (files, report section, map panel) and
:mod:`~planner.coalition.run` (``planner coalitions``).
"""
