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
# # Chapter 9: policy gradient methods
#
# The network outputs the policy $\pi_\theta(a \mid s)$ itself, and $\theta$ climbs the
# expected return along
#
# $$\nabla_\theta J = \mathbb E\Bigl[\sum_t \Phi_t\, \nabla_\theta \log \pi_\theta(a_t \mid s_t)\Bigr],$$
#
# where the weight $\Phi_t$ is the whole return (simple PG), the reward-to-go $G_t$
# (REINFORCE), $G_t - V(s_t)$ (with a baseline) or the TD error
# $r_t + \gamma V(s_{t+1}) - V(s_t)$ (Actor-Critic). Code:
# `minirl/agents/policy_gradient.py`; page: *Chapter 9* of the docs.

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

import minirl
from minirl.agents.policy_gradient import policy_loss, reward_to_go

print(inspect.getsource(policy_loss))
print(inspect.getsource(reward_to_go))

# %% [markdown]
# ## The reward-to-go, by hand
#
# $G_t = r_t + \gamma G_{t+1}$ in one backward pass: three rewards of 1 with
# $\gamma = 0.9$ give $G = (2.71, 1.9, 1)$.

# %%
G = reward_to_go(np.ones(3), 0.9)
print(G)
np.testing.assert_allclose(G, [1 + 0.9 + 0.81, 1 + 0.9, 1])

# %% [markdown]
# ## REINFORCE with a baseline and Actor-Critic on CartPole
#
# 20k steps each with the default settings, the greedy policy evaluated every 5000
# steps over 10 episodes.

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for name in ("reinforce-baseline", "actor-critic"):
    result = minirl.train(name, "CartPole-v1", 20_000, seed=0, eval_every=5000,
                          eval_episodes=10)
    steps, _, returns, _ = np.array(result.records).T
    eval_steps, eval_means, _ = np.array(result.evaluations).T
    line, = ax.plot(steps, returns, lw=0.5, alpha=0.5)
    ax.plot(eval_steps, eval_means, "o-", color=line.get_color(), label=f"{name} (greedy)")
    print(name, {int(s): round(float(m), 1) for s, m in zip(eval_steps, eval_means)})
ax.set(xlabel="environment step", ylabel="return", title="Policy gradients on CartPole-v1")
ax.legend()
plt.show()
