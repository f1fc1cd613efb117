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
# # Chapter 10: beyond DQN
#
# Three directions from the chapter, each small enough to run here:
#
# * **A2C**: actor-critic over many environments at once, with $n$-step or GAE returns;
# * **DQN's improvements**: the categorical (C51) target and the dueling head, the
#   pieces Rainbow is composed of;
# * **DDPG**: a deterministic actor for continuous actions, trained through the critic.
#
# Code: `minirl/agents/a2c.py`, `minirl/agents/dqn.py`, `minirl/agents/ddpg.py`; pages:
# *Chapter 10* of the docs.

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
from minirl.agents.rollout import gae
from minirl.agents.dqn import dueling_aggregate, project_distribution
from minirl.agents.ddpg import actor_loss

# %% [markdown]
# ## A2C on CartPole
#
# Eight environments stepped in lock-step; every 5 steps one update from the $5 \times 8$
# transitions, with generalized advantage estimates
#
# $$\delta_t = r_t + \gamma\,(1 - \text{terminated}_t)\, V(s'_t) - V(s_t),$$
#
# $$A_t = \delta_t + \gamma\lambda\,(1 - \text{done}_t)\, A_{t+1}.$$

# %%
print(inspect.getsource(gae))
result = minirl.train("a2c", "CartPole-v1", 40_000, seed=0, eval_every=5000, eval_episodes=10)
eval_steps, eval_means, _ = np.array(result.evaluations).T
print("greedy evaluations:", {int(s): round(float(m), 1)
                              for s, m in zip(eval_steps, eval_means)})
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(eval_steps, eval_means, "o-")
ax.set(xlabel="environment step", ylabel="greedy return", title="A2C on CartPole-v1")
plt.show()

# %% [markdown]
# ## The C51 target, on five atoms
#
# The next state's return distribution is moved by the Bellman update
# $\hat{\mathcal T} z_j = r + \gamma z_j$ and split back onto the fixed support. With
# $r = 1$, $\gamma = 0.5$ and the support $\{0, 1, 2, 3, 4\}$, all mass on $z = 3$
# moves to $2.5$: half to $2$, half to $3$. The projected mean is $r + \gamma\,\mathbb E[Z]$.

# %%
print(inspect.getsource(project_distribution))
support = np.arange(5.0)
next_probs = np.array([[0.0, 0.0, 0.0, 1.0, 0.0]])
m = project_distribution(next_probs, np.array([1.0]), np.array([0.0]), 0.5, support)
print("m =", m[0])
np.testing.assert_allclose(m[0], [0, 0, 0.5, 0.5, 0])
np.testing.assert_allclose(m[0] @ support, 1.0 + 0.5 * (next_probs[0] @ support))

fig, axes = plt.subplots(1, 2, figsize=(7, 2.5), sharey=True)
axes[0].bar(support, next_probs[0])
axes[0].set_title("$p(s', a^*)$")
axes[1].bar(support, m[0], color="tab:orange")
axes[1].set_title("projected target $m$")
for ax in axes:
    ax.set_xlabel("return $z$")
plt.show()

# %% [markdown]
# ## The dueling head
#
# $Q(s, a) = V(s) + A(s, a) - \frac{1}{\lvert\mathcal A\rvert}\sum_{a'} A(s, a')$: the
# mean is taken over each sample's own actions, so that $V$ and $A$ are identifiable.

# %%
import minirl.functions as F  # noqa: E402
from minirl import Variable  # noqa: E402

value = Variable(np.array([[1.0], [-2.0]]))
advantage = Variable(np.array([[1.0, 3.0], [0.0, 0.0]]))
q = dueling_aggregate(value, advantage)
print(q.data)
np.testing.assert_allclose(q.data, [[0.0, 2.0], [-2.0, -2.0]])
np.testing.assert_allclose(q.data.mean(axis=1), value.data[:, 0])  # the mean of Q is V

# %% [markdown]
# ## DDPG on Pendulum
#
# The actor $\mu(s; \theta)$ climbs the critic: $\nabla_\theta J = \operatorname{mean}_s
# \nabla_a Q(s, a)\rvert_{a = \mu(s)}\, \nabla_\theta \mu(s)$, which backprop through the
# critic into the actor computes from the loss $-\operatorname{mean}_s Q(s, \mu(s))$.
# 8k steps, learning from step 1000 (the default waits 10k): a good Pendulum policy
# scores about $-150$, a random one about $-1200$. So short a run is not yet steady:
# its greedy evaluations can still swing between good and poor while the critic
# settles (the benchmark on the DDPG page trains 20k steps).

# %%
print(inspect.getsource(actor_loss))
result = minirl.train("ddpg", "Pendulum-v1", 8_000, seed=0, eval_every=2000, eval_episodes=5,
                      learning_starts=1000)
eval_steps, eval_means, _ = np.array(result.evaluations).T
print("greedy evaluations:", {int(s): round(float(m), 1)
                              for s, m in zip(eval_steps, eval_means)})
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(eval_steps, eval_means, "o-")
ax.set(xlabel="environment step", ylabel="greedy return", title="DDPG on Pendulum-v1")
plt.show()
