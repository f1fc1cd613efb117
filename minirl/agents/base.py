"""What every agent shares: hyperparameters, spaces, observation encoding, saving.

An agent keeps the book's shape:

* ``act(obs, explore=True)``   -> an action for one observation (``get_action`` in the book)
* ``update(obs, action, reward, next_obs, terminated, truncated)``
                                -> learn from one environment step; returns a dict of
                                   scalars to log (or None)

``terminated`` and ``truncated`` always arrive separately: an agent bootstraps from
``next_obs`` on truncation (the episode was cut by a time limit, the state still has a
value) and never on termination.

Everything an agent holds that changes during training -- network parameters,
optimizer moments, counters, replay contents, its random generator -- is returned by
``state_dict()`` as plain ndarrays, so a checkpoint is a single ``.npz`` loaded with
``allow_pickle=False``.
"""
import json

import gymnasium as gym
import numpy as np

from minirl.agents.common import strip_prefix
from minirl.agents.hparams import HParam, check_values, spec_dict


__all__ = ["Agent", "HParam", "ObsEncoder", "space_to_json", "space_from_json", "rng_state",
           "set_rng_state"]


class ObsEncoder:
    """Turns an observation of a gymnasium space into the float32 vector a net reads.

    ``Box`` observations are flattened; ``Discrete(n)`` observations become one-hot
    vectors of length n (the book's ``one_hot`` for GridWorld states).
    """

    def __init__(self, space):
        if isinstance(space, gym.spaces.Discrete):
            self.size, self.n, self.start = int(space.n), int(space.n), int(space.start)
        elif isinstance(space, gym.spaces.Box):
            self.size, self.n = int(np.prod(space.shape)), None
        else:
            raise ValueError(f"observations must be Box or Discrete, got {space}")
        self.shape = (self.size,)

    def __call__(self, obs):
        """One observation -> (size,) float32."""
        if self.n is not None:
            x = np.zeros(self.n, np.float32)
            x[int(obs) - self.start] = 1.0
            return x
        return np.asarray(obs, np.float32).reshape(self.size)

    def batch(self, obs):
        """A batch of observations -> (batch, size) float32."""
        if self.n is not None:
            idx = np.asarray(obs, np.int64).reshape(-1) - self.start
            x = np.zeros((idx.size, self.n), np.float32)
            x[np.arange(idx.size), idx] = 1.0
            return x
        obs = np.asarray(obs, np.float32)
        return obs.reshape(len(obs), self.size)


def rng_state(rng):
    """A Generator's state as JSON text (an ndarray of str needs no pickle)."""
    return json.dumps(rng.bit_generator.state)


def set_rng_state(rng, text):
    rng.bit_generator.state = json.loads(str(text))


def space_to_json(space):
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.Box):
        return {"type": "Box", "low": space.low.tolist(), "high": space.high.tolist(),
                "shape": list(space.shape), "dtype": str(space.dtype)}
    raise ValueError(f"cannot save a {type(space).__name__} space")


def space_from_json(d):
    if d["type"] == "Discrete":
        return gym.spaces.Discrete(d["n"], start=d.get("start", 0))
    if d["type"] == "Box":
        return gym.spaces.Box(np.array(d["low"], d["dtype"]), np.array(d["high"], d["dtype"]),
                              tuple(d["shape"]), dtype=d["dtype"])
    raise ValueError(f"unknown space type {d['type']!r}")


def _describe(types):
    return " or ".join(t.__name__ for t in types)


class Agent:
    """Base class: subclasses set the class attributes and implement the methods.

    Class attributes:
      name                 the registered algorithm name ('dqn')
      action_spaces        the gymnasium space classes it can act in
      observation_spaces   the space classes it can read
      hyperparameters      ``HParam`` entries: name, default, type, rule, meaning; the
                           only names accepted (``defaults`` and ``spec`` are built from it)
      presets              named sets of overrides ('book': the chapter's settings)

    Hyperparameters are read one way: ``self.hparams[key]`` (``h = self.hparams`` at the
    top of a method), where they are used. They are not copied into attributes: a copy
    can drift from the dict that ``config()`` saves and a resumed run rebuilds from.
    Attributes hold what the agent derives (``n_actions``, C51's support) and what the
    training loop reads (``num_envs``).
    """
    name = None
    action_spaces = (gym.spaces.Discrete,)
    observation_spaces = (gym.spaces.Box, gym.spaces.Discrete)
    hyperparameters = ()
    presets = {}
    spec, defaults = {}, {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.spec = spec_dict(cls.hyperparameters)
        cls.defaults = {name: p.default for name, p in cls.spec.items()}
        for preset, values in cls.presets.items():  # a typo in a preset fails at import
            unknown = sorted(set(values) - set(cls.spec))
            if unknown:
                raise ValueError(f"{cls.__name__} preset {preset!r} sets unknown "
                                 f"hyperparameters {unknown}")

    def __init__(self, observation_space, action_space, seed=0, preset=None, *, name=None,
                 **hparams):
        if name is not None:  # the registered name ('c51', not 'dqn'): errors say it
            self.name = name
        self.check_spaces(observation_space, action_space, self.name)
        self.observation_space, self.action_space = observation_space, action_space
        self.seed = int(seed)
        self.hparams = self.resolve_hparams(preset, hparams, self.name)
        self.preset = preset
        self.check_hparams(self.hparams)
        self.rng = np.random.default_rng(seed)
        self.encode = ObsEncoder(observation_space)

    # -- construction checks -----------------------------------------------------------
    @classmethod
    def check_spaces(cls, observation_space, action_space, name=None):
        """ValueError unless the spaces fit; it names the algorithm ``name`` (default: the
        class's own)."""
        name = name or cls.name
        if not isinstance(action_space, cls.action_spaces):
            raise ValueError(f"{name} needs a {_describe(cls.action_spaces)} action "
                             f"space; this environment's is {action_space}")
        if not isinstance(observation_space, cls.observation_spaces):
            raise ValueError(f"{name} needs a {_describe(cls.observation_spaces)} "
                             f"observation space; this environment's is {observation_space}")

    @classmethod
    def resolve_hparams(cls, preset, overrides, name=None):
        """defaults <- preset <- overrides, refusing names the agent does not know."""
        name = name or cls.name
        if preset is not None and preset not in cls.presets:
            raise ValueError(f"{name} has no preset {preset!r}; presets: "
                             f"{sorted(cls.presets) or 'none'}")
        unknown = sorted(set(overrides) - set(cls.defaults))
        if unknown:
            raise ValueError(f"{name} has no hyperparameter {', '.join(map(repr, unknown))}"
                             f"; valid names: {', '.join(sorted(cls.defaults))}")
        hparams = dict(cls.defaults)
        hparams.update(cls.presets.get(preset, {}))
        hparams.update(overrides)
        return hparams

    def check_hparams(self, h):
        """Every value against its ``HParam`` rule, then the rules that tie two together."""
        check_values(self.name, self.spec, h)
        self.check_relations(h)

    def check_relations(self, h):
        """Rules across hyperparameters; subclasses add theirs and call super()."""
        if "batch_size" in h and "buffer_size" in h and h["batch_size"] > h["buffer_size"]:
            raise ValueError(f"{self.name}: batch_size {h['batch_size']} is larger than "
                             f"buffer_size {h['buffer_size']}")

    # -- the book's interface ---------------------------------------------------------
    def act(self, obs, explore=True):
        raise NotImplementedError

    def get_action(self, obs, explore=True):
        """The book's name for ``act``."""
        return self.act(obs, explore)

    def update(self, obs, action, reward, next_obs, terminated, truncated):
        raise NotImplementedError

    def wrap_env(self, env):
        """The env as this agent steps it: unchanged, unless its actions need a wrapper
        (PPO's Gaussian samples: ``ClipAction``, so that it learns from the sample)."""
        return env

    # -- state --------------------------------------------------------------------------
    def modules(self):
        """name -> Module: every network whose parameters are saved."""
        return {}

    def optimizers(self):
        """name -> Optimizer whose state is saved."""
        return {}

    def extra_state(self):
        """name -> ndarray: counters, replay contents, episode memories."""
        return {}

    def load_extra_state(self, state):
        pass

    def state_dict(self):
        state = {"rng": np.array(rng_state(self.rng))}
        for name, module in self.modules().items():
            for key, value in module.state_dict().items():
                state[f"module.{name}.{key}"] = value
        for name, opt in self.optimizers().items():
            for key, value in opt.state_dict().items():
                state[f"optim.{name}.{key}"] = value
        for key, value in self.extra_state().items():
            state[f"extra.{key}"] = np.asarray(value)
        return state

    def load_state_dict(self, state):
        for name, module in self.modules().items():
            module.load_state_dict(strip_prefix(state, f"module.{name}."))
        for name, opt in self.optimizers().items():
            opt.load_state_dict(strip_prefix(state, f"optim.{name}."))
        self.load_extra_state(strip_prefix(state, "extra."))
        set_rng_state(self.rng, state["rng"])

    def config(self):
        """What it takes to build this agent again (JSON-able)."""
        return {"algo": self.name, "seed": self.seed, "preset": self.preset,
                "hparams": self.hparams,
                "observation_space": space_to_json(self.observation_space),
                "action_space": space_to_json(self.action_space)}

    def save(self, path):
        """Write config and state to one .npz, atomically (see minirl.checkpoint)."""
        from minirl.checkpoint import save_agent
        save_agent(self, path)
