"""Tabular reinforcement learning: chapters 1-6 of the book, one module per chapter.

==========  ===========================================  ==========================
module      chapter                                      needs
==========  ===========================================  ==========================
bandit      1 bandits: sample average, constant alpha    nothing (its own bandits)
dp          4 dynamic programming: policy/value iter.    the env's model
mc          5 Monte Carlo: evaluation, control, IS       a Discrete-observation env
td          6 TD: TD(0), SARSA, off-policy SARSA, Q-l.   a Discrete-observation env
==========  ===========================================  ==========================

How a state is represented
--------------------------
* ``dp`` plans with the environment's model, whose states are whatever
  ``env.states()`` yields -- for ``GridWorld`` the ``(row, col)`` cells, as in the
  book. Its value function ``V`` and policy ``pi`` are dicts keyed by those cells:
  ``V[(0, 2)]``, ``pi[(0, 2)] == {0: 0.0, 1: 0.0, 2: 0.0, 3: 1.0}``.
* ``mc`` and ``td`` agents learn from experience, so their state is the observation
  the environment hands them: an integer (for ``GridWorld`` the cell index
  ``row * width + col``). Their tables are NumPy arrays indexed by it:
  ``V[obs]``, ``Q[obs, action]``, and ``pi[obs]`` the action probabilities.

``GridWorld.state_to_index`` / ``index_to_state`` convert between the two, and the
plots in ``minirl.plot`` accept either.
"""
from minirl.tabular import bandit, dp, mc, td  # noqa: F401
