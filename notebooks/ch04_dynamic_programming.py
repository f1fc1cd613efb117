# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 4: dynamic programming
#
# With the model of the world known (`GridWorld.next_state`, `GridWorld.reward`), the
# value of a policy is the fixed point of the Bellman equation, reached by sweeping
# the states again and again:
#
# $$V(s) \leftarrow \sum_a \pi(a \mid s)\,\bigl\{r(s,a,s') + \gamma V(s')\bigr\}.$$
#
# Code: `minirl/tabular/dp.py`; page: *Chapters 1–6* of the docs.

# %%
# Colab starts without minirl: install it there (elsewhere: `pip install -e .` in the repo).
import importlib.util
import subprocess
import sys

if "google.colab" in sys.modules and importlib.util.find_spec("minirl") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "minirl @ git+https://github.com/minirl/minirl"], check=True)

# %%
# minirl.plot returns matplotlib Figures; the inline backend draws them below.
# %matplotlib inline
import inspect

from minirl.envs.gridworld import GridWorld
from minirl.plot import plot_value_map
from minirl.tabular import dp

env = GridWorld()  # the book's 3 x 4 world: +1 at the goal, -1 at the bomb, one wall
print(inspect.getsource(dp.eval_onestep))

# %% [markdown]
# ## Policy evaluation of the random policy

# %%
pi = dp.random_policy(env)
V = dp.policy_eval(pi, dp.zero_values(env), env, gamma=0.9, threshold=1e-3)
print({state: round(v, 3) for state, v in V.items()})
assert round(V[(0, 0)], 3) == 0.030 and round(V[(2, 3)], 3) == -0.784  # the book's numbers
plot_value_map(env, V, pi, title="Random policy: V(s) by policy evaluation")

# %% [markdown]
# ## Policy iteration and value iteration
#
# Improving the policy greedily, $\mu(s) = \arg\max_a \{r(s,a,s') + \gamma V(s')\}$,
# and evaluating again converges to the optimum. Value iteration merges both steps into
# one sweep, $V(s) \leftarrow \max_a \{r(s,a,s') + \gamma V(s')\}$.

# %%
print(inspect.getsource(dp.value_iter_onestep))
pi_pi, V_pi = dp.policy_iter(env, gamma=0.9, threshold=1e-3)
pi_vi, V_vi = dp.value_iter(env, gamma=0.9, threshold=1e-3)
assert pi_pi == pi_vi  # both reach the same optimal policy
# From (0, 0) the goal is 3 steps away: its reward of 1 arrives at t = 2, worth 0.9^2.
print("V*(0, 0) =", round(V_vi[(0, 0)], 3), " 0.9^2 =", round(0.9 ** 2, 3))
assert abs(V_vi[(0, 0)] - 0.9 ** 2) < 1e-3
plot_value_map(env, V_vi, pi_vi, title="Value iteration: V* and the greedy policy")
