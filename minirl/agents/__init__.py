"""The algorithm registry: names the CLI takes -> agent classes.

Each ``Algorithm`` names its module and class, its chapter, what it is, the
hyperparameters that the name fixes (``double-dqn`` is the DQN agent with
``double=True``) and the preset it starts from (``rainbow`` is the DQN agent with its
``rainbow`` preset). Modules are imported only when an algorithm is used, so a reader
can open one agent file without the rest loading.
"""
import importlib
import importlib.util
from dataclasses import dataclass, field

from minirl.envs import make_env

__all__ = ["Algorithm", "ALGORITHMS", "algorithms", "agent_class", "make_agent",
           "agent_from_config", "algorithm_table", "describe_algorithm"]


@dataclass(frozen=True)
class Algorithm:
    """One registered algorithm. Its spaces are its class's (``action_spaces``,
    ``observation_spaces``), read from the class so they are written once."""
    name: str
    module: str
    cls: str
    chapter: str
    summary: str
    fixed: dict = field(default_factory=dict)  # hyperparameters the name fixes
    preset: str = None                         # the preset the name starts from

    @property
    def agent_class(self):
        return getattr(importlib.import_module(self.module), self.cls)

    @property
    def spaces(self):
        """(observation space classes, action space classes) the agent takes."""
        cls = self.agent_class
        return cls.observation_spaces, cls.action_spaces


_DQN = ("minirl.agents.dqn", "DQNAgent")
ALGORITHMS = {a.name: a for a in (
    Algorithm("qnet", "minirl.agents.qnet", "QLearningAgent", "7",
              "Q-learning with a neural network, one SGD step per environment step"),
    Algorithm("dqn", *_DQN, "8", "DQN: experience replay and a target network"),
    Algorithm("double-dqn", *_DQN, "8",
              "Double DQN: the online network picks a', the target network values it",
              fixed={"double": True}),
    Algorithm("per-dqn", *_DQN, "8", "DQN with prioritized experience replay",
              fixed={"prioritized": True}),
    Algorithm("dueling-dqn", *_DQN, "10", "DQN with a dueling head, Q = V + A - mean A",
              fixed={"dueling": True}),
    Algorithm("noisy-dqn", *_DQN, "10",
              "DQN exploring through noisy layers instead of epsilon",
              fixed={"noisy": True}, preset="noisy"),
    Algorithm("c51", *_DQN, "10", "C51: a distribution over returns on a fixed support",
              fixed={"categorical": True}, preset="c51"),
    Algorithm("rainbow", *_DQN, "10",
              "Rainbow: double, prioritized, dueling, noisy, C51 and n-step together",
              preset="rainbow"),
    Algorithm("simple-pg", "minirl.agents.policy_gradient", "SimplePG", "9",
              "the simplest policy gradient: every log-prob weighted by the return G_0"),
    Algorithm("reinforce", "minirl.agents.policy_gradient", "Reinforce", "9",
              "REINFORCE: each log-prob weighted by its reward-to-go G_t"),
    Algorithm("reinforce-baseline", "minirl.agents.policy_gradient", "ReinforceBaseline",
              "9", "REINFORCE with a learned baseline V(s)"),
    Algorithm("actor-critic", "minirl.agents.policy_gradient", "ActorCritic", "9",
              "one-step actor-critic weighted by the TD error"),
    Algorithm("a2c", "minirl.agents.a2c", "A2CAgent", "10",
              "A2C: synchronous advantage actor-critic over vector envs"),
    Algorithm("a3c", "minirl.agents.a3c", "A3CAgent", "10",
              "A3C: asynchronous workers updating one shared network"),
    Algorithm("ddpg", "minirl.agents.ddpg", "DDPGAgent", "10",
              "DDPG: a deterministic actor and a Q critic for continuous actions"),
    Algorithm("ppo", "minirl.agents.ppo", "PPOAgent", "after the book",
              "PPO: clipped surrogate, several epochs of minibatches per rollout"),
    Algorithm("td3", "minirl.agents.td3", "TD3Agent", "after the book",
              "TD3: twin critics, clipped double-Q target, smoothing, delayed actor"),
    Algorithm("sac", "minirl.agents.sac", "SACAgent", "after the book",
              "SAC: squashed Gaussian policy, soft twin-Q target, learned temperature"),
)}


def _available(name):
    return importlib.util.find_spec(ALGORITHMS[name].module) is not None


def algorithms():
    """The algorithm names that ``make_agent``, ``train`` and the CLI accept."""
    return [name for name in ALGORITHMS if _available(name)]


def agent_class(name):
    if name not in ALGORITHMS or not _available(name):
        raise ValueError(f"unknown algorithm {name!r}; choose from {', '.join(algorithms())}")
    return ALGORITHMS[name].agent_class


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
    cls, algo = agent_class(name), ALGORITHMS[name]
    fixed, preset = algo.fixed, algo.preset if preset is None else preset
    for key, value in fixed.items():
        if key in hparams and hparams[key] != value:
            raise ValueError(f"{name} fixes {key}={value!r}; got {key}={hparams[key]!r} "
                             f"(use 'dqn' with --set {key}=... instead)")
    obs_space, action_space = env if isinstance(env, tuple) else _spaces(env)
    # name: the registered one, for errors, the config and the CLI
    return cls(obs_space, action_space, seed=seed, preset=preset, name=name,
               **{**fixed, **hparams})


def agent_from_config(config):
    """Rebuild an agent (untrained) from the dict that ``Agent.config()`` wrote."""
    from minirl.agents.base import space_from_json
    name = config["algo"]
    cls = agent_class(name)
    # The saved hyperparameters are every one the agent had when it was saved. One added
    # since takes its plain default, never a preset's value: a preset that later sets a
    # new hyperparameter must not change a network that was trained without it.
    hparams = {**{k: v for k, v in cls.defaults.items() if k not in config["hparams"]},
               **config["hparams"]}
    return cls(space_from_json(config["observation_space"]),
               space_from_json(config["action_space"]), seed=config["seed"],
               preset=config.get("preset"), name=name, **hparams)


def _spaces_words(types):
    return "/".join(t.__name__ for t in types)


def algorithm_table():
    """One line per algorithm: name, chapter, the spaces it takes, what it is; each
    column as wide as its widest entry."""
    rows = [("algorithm", "chapter", "actions", "observations", "what it is")]
    for name in algorithms():
        algo = ALGORITHMS[name]
        observations, actions = algo.spaces
        rows.append((name, algo.chapter, _spaces_words(actions),
                     _spaces_words(observations), algo.summary))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(f"{cell:{w}}" for cell, w in zip(row, widths)) + "  " + row[4]
                     for row in rows)


def _show(value):
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def describe_algorithm(name):
    """Every hyperparameter of ``name`` with its default, rule and meaning; its presets."""
    cls, algo = agent_class(name), ALGORITHMS[name]
    fixed, preset = algo.fixed, algo.preset
    defaults = {**cls.defaults, **cls.presets.get(preset, {}), **fixed}
    lines = [f"{name} (chapter {algo.chapter}): {algo.summary}",
             f"  actions: {_spaces_words(cls.action_spaces)}; "
             f"observations: {_spaces_words(cls.observation_spaces)}"]
    if fixed or preset:
        what = ", ".join([f"{k}={_show(v)}" for k, v in fixed.items()]
                         + ([f"preset {preset}"] if preset else []))
        lines.append(f"  = {cls.name} with {what}")
    lines += ["", "hyperparameters (--set KEY=VALUE):"]
    width = max(len(k) for k in cls.spec)
    for key, p in cls.spec.items():
        lines.append(f"  {key:{width}}  {_show(defaults[key]):>9}  {p.doc} "
                     f"({p.describe()})")
    if cls.presets:
        lines += ["", "presets (--preset NAME):"]
        for preset_name, values in cls.presets.items():
            changes = ", ".join(f"{k}={_show(v)}" for k, v in values.items()) or \
                "the defaults"
            lines.append(f"  {preset_name}: {changes}")
    return "\n".join(lines)
