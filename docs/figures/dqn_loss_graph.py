"""Draw the graph of chapter 8's DQN loss with its target branch cut by detach.

    python docs/figures/dqn_loss_graph.py docs/figures/dqn_loss_graph.svg

The agent (``DQNAgent.learn``) builds the target y under ``no_grad()``, which records
nothing at all. Here y is built with the graph on and then detached, the same cut
made so that the branch it cuts off can be drawn beside the loss.
"""
import sys

import numpy as np

import minirl.functions as F
from minirl import Variable
from minirl.agents.dqn import QNet
from minirl.graph import plot_graph


def named(module):
    """(name, parameter) pairs, whichever spelling the Module has."""
    pairs = getattr(module, "named_parameters", None) or module.named_params
    return pairs()


def dqn_loss_graph(path, batch=32, seed=0):
    rng = np.random.default_rng(seed)
    online = QNet(4, 2, hidden_sizes=(16,), rng=rng)
    target_net = QNet(4, 2, hidden_sizes=(16,), rng=rng)
    for name, p in named(online):
        p.name = "θ " + name
    for name, p in named(target_net):
        p.name = "θ⁻ " + name
    obs = Variable(rng.standard_normal((batch, 4), dtype=np.float32), "s",
                   requires_grad=False)
    next_obs = Variable(rng.standard_normal((batch, 4), dtype=np.float32), "s'",
                        requires_grad=False)
    actions = rng.integers(0, 2, batch)
    reward = np.ones(batch, np.float32)
    terminated = np.zeros(batch, np.float32)

    q = F.pick(online(obs), actions)                       # Q(s, a; θ), as the agent takes it
    q.name = "Q(s, a; θ)"
    gamma = np.float32(0.99)
    y = reward + gamma * (1 - terminated) * F.max(target_net(next_obs), axis=1)
    y.name = "y = r + γ max Q(s', ·; θ⁻)"
    loss = F.mean_squared_error(q, y.detach())             # y enters as a constant
    loss.name = "L"
    return plot_graph(loss, path, also=[y])


if __name__ == "__main__":
    print(dqn_loss_graph(sys.argv[1] if len(sys.argv) > 1 else "dqn_loss_graph.svg"))
