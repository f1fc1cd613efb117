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
# # Chapter 1: bandits
#
# A 10-armed bandit pays 1 with a probability $q_*(a)$ that the agent does not know.
# An $\varepsilon$-greedy agent keeps an estimate $Q(a)$ of each arm and plays the best
# one, except for a random arm with probability $\varepsilon$. The estimate is the sample
# average, kept one reward at a time:
#
# $$Q_n = Q_{n-1} + \frac{1}{n}\left(R_n - Q_{n-1}\right).$$
#
# Code: `minirl/tabular/bandit.py`; page: *Chapters 1–6* of the docs.

# %%
# Colab starts without minirl: install it there (elsewhere: `pip install -e .` in the repo).
import importlib.util
import subprocess
import sys

if "google.colab" in sys.modules and importlib.util.find_spec("minirl") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "minirl @ git+https://github.com/minirl/minirl"], check=True)

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

from minirl.tabular.bandit import Agent, AlphaAgent, Bandit, NonStatBandit, run_bandit

print(inspect.getsource(Agent.update))

# %%
RUNS, STEPS = 100, 1000  # the book runs 200 x 1000; 100 runs keep this notebook quick


def average_rates(make_agent, make_bandit):
    """The book's "rates" (average reward so far), averaged over RUNS seeded runs."""
    rates = np.zeros((RUNS, STEPS))
    for run in range(RUNS):
        _, rates[run] = run_bandit(make_agent(run), make_bandit(run), STEPS)
    return rates.mean(axis=0)


fig, ax = plt.subplots(figsize=(6, 4))
for epsilon in (0.01, 0.1, 0.3):
    rates = average_rates(lambda run: Agent(epsilon, seed=run),
                          lambda run: Bandit(seed=10_000 + run))
    ax.plot(rates, label=f"$\\varepsilon$ = {epsilon}")
    print(f"epsilon {epsilon}: mean reward of the last 100 steps {rates[-100:].mean():.3f}")
ax.set(xlabel="step", ylabel="average reward so far",
       title="Stationary bandit, sample averages")
ax.legend(loc="lower right")
plt.show()

# %% [markdown]
# Too little exploration ($\varepsilon = 0.01$) sticks with an early favourite; too much
# ($0.3$) keeps paying for random arms. $0.1$ is the book's choice.
#
# ## A bandit whose arms drift
#
# When $q_*(a)$ moves (here by $0.1\,\mathcal N(0, 1)$ every play), old rewards describe
# an arm that no longer exists. A constant step size $\alpha$ forgets them
# geometrically, reward $R_k$ weighing $\alpha (1-\alpha)^{n-k}$:
#
# $$Q_n = Q_{n-1} + \alpha\left(R_n - Q_{n-1}\right).$$

# %%
print(inspect.getsource(AlphaAgent.update))

fig, ax = plt.subplots(figsize=(6, 4))
curves = {"sample average": lambda run: Agent(0.1, seed=run),
          "$\\alpha$ = 0.8": lambda run: AlphaAgent(0.1, 0.8, seed=run)}
final = {}
for label, make_agent in curves.items():
    rates = average_rates(make_agent, lambda run: NonStatBandit(seed=20_000 + run))
    final[label] = rates[-1]
    ax.plot(rates, label=label)
ax.set(xlabel="step", ylabel="average reward so far",
       title="Drifting bandit, $\\varepsilon$ = 0.1")
ax.legend(loc="lower right")
plt.show()
print({k: round(v, 3) for k, v in final.items()})
assert final["$\\alpha$ = 0.8"] > final["sample average"]  # the constant step tracks the drift
