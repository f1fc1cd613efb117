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
# # Chapter 8: DQN
#
# Two ideas make Q-learning with a network stable (Mnih et al. 2015): **experience
# replay** (learn from minibatches drawn from the last $N$ transitions, not from the
# correlated stream) and a **target network** $\theta^-$, a copy of $\theta$ updated only
# now and then, from which the target is computed:
#
# $$y = r + \gamma\,(1 - \text{terminated}) \max_{a'} Q(s', a'; \theta^-).$$
#
# Code: `minirl/agents/dqn.py`, `minirl/replay.py`; page: *Chapter 8* of the docs.

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
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import SVG, display

import minirl
import minirl.functions as F
from minirl import no_grad
from minirl.agents.dqn import td_target
from minirl.graph import plot_graph

print(inspect.getsource(td_target))

# %% [markdown]
# ## Training on CartPole
#
# The tuned defaults, 30k steps (about ten seconds), the greedy policy evaluated over
# 10 episodes every 5000 steps. CartPole-v1 counts as solved at a mean of 475; 30k
# steps keep this notebook short, and the benchmarks give DQN 50k (its first greedy 475
# comes at a median 35k steps), so the curve here may end short of it.

# %%
result = minirl.train("dqn", "CartPole-v1", 30_000, seed=0, eval_every=5000, eval_episodes=10)
steps, episodes, returns, lengths = np.array(result.records).T
eval_steps, eval_means, eval_stds = np.array(result.evaluations).T
print("greedy evaluations:", {int(s): round(float(m), 1)
                              for s, m in zip(eval_steps, eval_means)})

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(steps, returns, lw=0.6, alpha=0.6, label="training episodes")
ax.errorbar(eval_steps, eval_means, eval_stds, fmt="o-", label="greedy evaluation")
ax.set(xlabel="environment step", ylabel="return", title="DQN on CartPole-v1")
ax.legend()
plt.show()

# %% [markdown]
# ## The target is a constant: look at the graph
#
# One minibatch through the trained agent's networks, as `DQNAgent.learn` does it: the
# online network's $Q(s, a)$ with the graph on, the target under `no_grad()`. The graph
# of the loss holds the online parameters (orange) and, where the target enters, a
# grey constant: nothing behind it was recorded, so no gradient can reach $\theta^-$.

# %%
agent = result.agent
batch = agent.replay.sample(32)
q = F.pick(agent.qnet(batch.obs), batch.action)      # Q(s, a; θ), one per row
with no_grad():
    next_q = agent.target_qnet(batch.next_obs).data   # Q(s', ·; θ⁻)
gamma_n = (agent.hparams["gamma"] ** batch.steps).astype(np.float32)  # the replay holds 3-step returns
target = td_target(batch.reward, next_q, batch.terminated, gamma_n)
loss = F.mean_squared_error(q, target)                # the default loss
print("loss", float(loss.data))

graph = Path(tempfile.mkdtemp()) / "dqn_loss.svg"
if shutil.which("dot"):
    plot_graph(loss, graph)
    display(SVG(graph.read_text()))
else:
    print(plot_graph(loss, graph.with_suffix(".dot")).read_text()[:400])  # DOT text only
