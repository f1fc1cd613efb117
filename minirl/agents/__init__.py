"""The algorithm registry: names the CLI takes -> agent classes.

Each entry names a module, a class, and the hyperparameters that the name fixes
(``double-dqn`` is the DQN agent with ``double=True``). Modules are imported only when
an algorithm is used, so a reader can open one agent file without the rest loading.
"""
import importlib
import importlib.util

from minirl.envs import make_env

__all__ = ["ALGORITHMS", "algorithms", "agent_class", "make_agent", "agent_from_config"]

# name: (module, class, hyperparameters the name fixes)
ALGORITHMS = {
    "qnet": ("minirl.agents.qnet", "QLearningAgent", {}),
    "dqn": ("minirl.agents.dqn", "DQNAgent", {}),
    "double-dqn": ("minirl.agents.dqn", "DQNAgent", {"double": True}),
    "per-dqn": ("minirl.agents.dqn", "DQNAgent", {"prioritized": True}),
    "dueling-dqn": ("minirl.agents.dqn", "DQNAgent", {"dueling": True}),
    "noisy-dqn": ("minirl.agents.dqn", "DQNAgent", {"noisy": True}),
    "c51": ("minirl.agents.dqn", "DQNAgent", {"categorical": True}),
    "rainbow": ("minirl.agents.dqn", "DQNAgent", {"preset": "rainbow"}),
    "simple-pg": ("minirl.agents.policy_gradient", "SimplePG", {}),
    "reinforce": ("minirl.agents.policy_gradient", "Reinforce", {}),
    "reinforce-baseline": ("minirl.agents.policy_gradient", "ReinforceBaseline", {}),
    "actor-critic": ("minirl.agents.policy_gradient", "ActorCritic", {}),
    "a2c": ("minirl.agents.a2c", "A2CAgent", {}),
    "a3c": ("minirl.agents.a3c", "A3CAgent", {}),
    "ddpg": ("minirl.agents.ddpg", "DDPGAgent", {}),
}


def _available(name):
    return importlib.util.find_spec(ALGORITHMS[name][0]) is not None


def algorithms():
    """The algorithm names that ``make_agent``, ``train`` and the CLI accept."""
    return [name for name in ALGORITHMS if _available(name)]


def agent_class(name):
    if name not in ALGORITHMS or not _available(name):
        raise ValueError(f"unknown algorithm {name!r}; choose from {', '.join(algorithms())}")
    module, cls, _ = ALGORITHMS[name]
    return getattr(importlib.import_module(module), cls)


def _spaces(env):
    if isinstance(env, str):
        env = make_env(env)
        try:
            return env.observation_space, env.action_space
        finally:
            env.close()
    return env.observation_space, env.action_space


def make_agent(name, env, seed=0, preset=None, **hparams):
    """Build agent ``name`` for an env (or env id, or an (obs_space, action_space) pair).

    An unsupported space raises ValueError saying which space the algorithm needs;
    an unknown hyperparameter or an out-of-range value raises ValueError naming it.
    """
    cls = agent_class(name)
    fixed = dict(ALGORITHMS[name][2])
    preset = fixed.pop("preset", None) if preset is None else preset
    fixed.pop("preset", None)
    for key, value in fixed.items():
        if key in hparams and hparams[key] != value:
            raise ValueError(f"{name} fixes {key}={value!r}; got {key}={hparams[key]!r} "
                             f"(use 'dqn' with --set {key}=... instead)")
    obs_space, action_space = env if isinstance(env, tuple) else _spaces(env)
    agent = cls(obs_space, action_space, seed=seed, preset=preset, **{**fixed, **hparams})
    agent.name = name  # the registered name, for the config and the CLI
    return agent


def agent_from_config(config):
    """Rebuild an agent (untrained) from the dict that ``Agent.config()`` wrote."""
    from minirl.agents.base import space_from_json
    name = config["algo"]
    cls = agent_class(name)
    agent = cls(space_from_json(config["observation_space"]),
                space_from_json(config["action_space"]), seed=config["seed"],
                preset=config.get("preset"), **config["hparams"])
    agent.name = name
    return agent
