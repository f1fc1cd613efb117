"""Chapter 10: A3C -- asynchronous advantage actor-critic, in real processes.

Mnih et al. (2016), Algorithm S3. K workers run at the same time, each with its own
environment, random seed and *local copy* theta' of the actor-critic network. One set
of *global* parameters theta, and the optimizer's statistics beside them (Adam's
moments, or RMSprop's as in the paper), live in shared memory.
Each worker repeats:

    1. theta' <- theta                       copy the global parameters into its own net
    2. run n_steps in its own env with pi(.|s; theta')
    3. d theta' = grad of the A2C loss on that rollout      (a2c.rollout_loss)
    4. theta <- optimizer step on theta with d theta'       (into the shared memory)

so updates computed from slightly stale parameters land in the global network in
whatever order the workers finish: that asynchrony is the "A" of A3C, and having
several workers in different parts of the environment decorrelates the updates the
way a replay buffer does for DQN.

Why processes: Python threads take turns on one interpreter lock, so "A3C" with
threads runs one worker at a time. Here every worker is a process, started with
multiprocessing's "spawn" method: a fresh interpreter that receives only what is
passed to it (the shared-memory name, its seed, the hyperparameters), so nothing of
the main process -- its threads (a progress bar's), locks held by them, open files --
is copied half-way into the worker, which "fork" would do. It costs about half a
second before a worker's first step (imports, its environment), once per run, and it
is how macOS and Windows start processes anyway.

Locking: step 4 runs under one lock shared by all workers (``lock=True``, the default);
step 1 too, so a worker never copies a half-written update. Hogwild (Recht et al.
2011; what the paper's threads did) skips the lock and lets updates overwrite each
other. The lock is cheap here because the update is short: the global parameters are
ONE flat vector theta in shared memory (every layer's W and b a view into it), so an
update is one optimizer step on one array -- tens of microseconds against about a
millisecond of acting and backprop per rollout. On an idle 16-core machine 2 workers
ran 1.95x the steps/s of one with the lock and 1.83x without it (4 workers: 3.51x and
3.37x), so the lock costs nothing measurable, and with it Adam's step count and
moments stay exactly those of the updates applied to theta. ``lock=False`` runs
Hogwild, for comparison.

The main process starts the workers, receives each finished episode (global step,
return, length) through a queue, and hands it to the training loop's ``on_episode``
(logging, greedy evaluation, checkpoints). While training, the agent's own network
points at the shared global parameters, so an evaluation in the main process sees the
current ones; afterwards it holds a private copy of the final ones, so ``act``,
``save`` and ``load_agent`` work as for any agent.

Shutdown, on every exit path (budget reached, ``on_episode`` says stop, Ctrl-C, a
worker's exception): signal the workers to stop, join them (terminating any that
does not stop), copy the final global parameters into the agent, then close and
unlink the shared memory. A worker's exception arrives as ``WorkerError`` naming the
worker and carrying its traceback. Workers ignore Ctrl-C (the main process decides)
and leave on their own if the main process dies, so none is ever orphaned.
"""
import multiprocessing as mp
import os
import queue
import secrets
import signal
import time
import traceback
from contextlib import nullcontext
from multiprocessing import shared_memory

import gymnasium as gym
import numpy as np

import minirl.layers as L
import minirl.optimizers as optim
from minirl.agents.a2c import (ActorCriticBase, ActorCriticNet, Rollout,
                               actor_critic_hyperparameters, make_optimizer, rollout_loss)
from minirl.agents.base import HParam, ObsEncoder, space_from_json, space_to_json
from minirl.agents.common import sample_categorical
from minirl.core import no_grad
from minirl.envcheck import EnvCheckError, EnvError, check_fits, env_failed
from minirl.signals import blocked_in_children, deferred

__all__ = ["SharedArrays", "WorkerError", "A3CAgent", "SHM_PREFIX"]

SHM_PREFIX = "minirl_a3c_"  # shared-memory names: minirl_a3c_<pid>_<random>


class WorkerError(RuntimeError):
    """An A3C worker failed; ``worker`` is its id, the message says what in one line
    and ``detail`` holds the worker's traceback.

    By the time it is raised every worker has stopped and the agent holds the last
    global parameters, whole: a training loop may still save them (``checkpoint_safe``).
    """
    checkpoint_safe = True

    def __init__(self, worker, what, detail=""):
        super().__init__(f"A3C worker {worker} failed: {what}")
        self.worker, self.detail = worker, detail


# --- shared memory ---------------------------------------------------------------------
class SharedArrays:
    """Named NumPy arrays laid out in one ``multiprocessing.shared_memory`` block.

    ``SharedArrays(layout)`` creates the block; ``SharedArrays(layout, name)`` attaches
    to an existing one (in a worker). ``layout`` is ``{key: (shape, dtype)}``: the
    same layout gives the same offsets in every process. ``shared[key]`` is a NumPy
    view into the block: writing it writes the memory every process sees.
    """

    def __init__(self, layout, name=None):
        self.layout = {k: (tuple(shape), str(np.dtype(dtype)))
                       for k, (shape, dtype) in layout.items()}
        offsets, size = {}, 0
        for key, (shape, dtype) in self.layout.items():
            size = -(-size // 64) * 64  # each array on a cache-line boundary
            offsets[key] = size
            size += int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        create = name is None
        if create:
            name = f"{SHM_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
        self.shm = shared_memory.SharedMemory(name=name, create=create, size=max(size, 1))
        self.arrays = {key: np.ndarray(shape, dtype, buffer=self.shm.buf,
                                       offset=offsets[key])
                       for key, (shape, dtype) in self.layout.items()}
        if create:
            for array in self.arrays.values():
                array.fill(0)

    @property
    def name(self):
        return self.shm.name

    def __getitem__(self, key):
        return self.arrays[key]

    def close(self):
        """Unmap this process's view of the block. Every array taken from it must be
        copied out first (``A3CAgent._unshare``): a view read after ``close`` reads
        unmapped memory. If a view is still referenced, the block stays mapped (the
        BufferError is swallowed) until that view is collected."""
        self.arrays = {}
        try:
            self.shm.close()
        except BufferError:
            pass

    def unlink(self):
        """Remove the block's name: the memory is freed once every process unmaps it."""
        try:
            self.shm.unlink()
        except FileNotFoundError:
            pass


def flat_optimizer(theta, h):
    """The optimizer of the global parameters: one optimizer over ONE flat vector theta,
    so an update is a handful of NumPy operations, not a handful per layer -- it runs
    under the lock, and the shorter it is, the less the workers wait for each other."""
    return make_optimizer([L.Parameter(theta)], h)


def shared_layout(net, h, workers):
    """Where everything shared lives: theta, its optimizer's statistics, counters.

    ``theta`` is ``net``'s flat parameter array (``layers.FlatParameters``: every
    parameter end to end, in ``net.parameters()`` order); the optimizer's statistics
    are laid out the same way, as the optimizer of the one vector theta keeps them
    ('m.0', 'v.0': one flat array each, 't': Adam's step count). ``steps[0]`` holds the step the run started from and
    ``steps[1 + i]`` worker i's environment steps, so the global step count is
    ``steps.sum()`` and each worker writes only its own slot (no lock needed).
    """
    size = net.flatten_parameters().size
    layout = {"theta": ((size,), np.float32)}
    for key, value in flat_optimizer(np.zeros(size, np.float32), h).state_dict().items():
        value = np.asarray(value)
        dtype = np.int64 if value.ndim == 0 else value.dtype  # Adam's step count t
        layout[f"optim.{key}"] = (value.shape, dtype)
    layout["steps"] = ((workers + 1,), np.int64)
    layout["updates"] = ((workers,), np.int64)         # gradient steps each worker applied
    return layout


def bind_params(net, flat):
    """Lay ``net``'s parameters out in the flat vector ``flat`` (``FlatParameters.bind``):
    writing the vector writes the parameters, and with ``flat`` shared, the net *is*
    the global net."""
    net.flatten_parameters().bind(flat)


def bind_optimizer(optimizer, shared):
    """Make the optimizer's statistics (``optimizer.m``, ``optimizer.v``: one flat array
    each) the shared ones, so that its in-place updates land in shared memory. Returns
    its counters (Adam's 't'), which ``optimizer_step`` keeps in step."""
    for name in optimizer.state_names:
        setattr(optimizer, name, shared[f"optim.{name}.0"])
    return list(optimizer.counter_names)


def optimizer_step(optimizer, shared, counters):
    """One optimizer step on the global parameters; the shared counters (Adam's t) are
    read before it and written after it, so all workers count the same steps."""
    for key in counters:
        setattr(optimizer, key, int(shared[f"optim.{key}"]))
    optimizer.step()
    for key in counters:
        shared[f"optim.{key}"][...] = getattr(optimizer, key)


def flat_state(optimizer):
    """An optimizer's state as ``flat_optimizer``'s: each statistic is already one flat
    array over all the parameters ('m.0': m of the one vector theta); counters as
    they are."""
    state = {name: np.array(getattr(optimizer, name)) for name in optimizer.counter_names}
    for name in optimizer.state_names:
        state[f"{name}.0"] = getattr(optimizer, name).copy()
    return state


def unflat_state(optimizer, flat):
    """The inverse of flat_state: the same arrays as ``optimizer.state_dict()`` keys
    them, one per parameter ('m.0', 'm.1', ...: views cut from the flat one)."""
    state = {name: np.array(flat[name]) for name in optimizer.counter_names}
    for name in optimizer.state_names:
        for i, part in enumerate(L.views(np.asarray(flat[f"{name}.0"]), optimizer.shapes)):
            state[f"{name}.{i}"] = part
    return state


# --- the worker ------------------------------------------------------------------------
def run_worker(worker, env_id, seed, spaces, hparams, shm_name, layout, lock, stop,
               messages, total_steps, parent_pid):
    """One A3C worker process (the loop of Algorithm S3). Reports through ``messages``:
    ('episode', worker, global_step, return, length), then ('done', worker), or
    ('error', worker, traceback text)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the main process
    shared = None
    try:
        shared = SharedArrays(layout, shm_name)
        _worker_loop(worker, env_id, seed, spaces, hparams, shared, lock, stop, messages,
                     total_steps, parent_pid)
        messages.put(("done", worker))
    except BaseException as error:  # noqa: BLE001  (whatever it is, the main process must hear)
        what = " ".join(f"{type(error).__name__}: {error}".split())
        if isinstance(error, (EnvError, EnvCheckError)):
            what = str(error)  # names the env and the step already
        messages.put(("error", worker, what, traceback.format_exc()))
    finally:
        if shared is not None:
            shared.close()


def _worker_loop(worker, env_id, seed, spaces, hparams, shared, lock, stop, messages,
                 total_steps, parent_pid):
    h = hparams
    rng = np.random.default_rng((seed, 1 + worker))  # this worker's own stream
    observation_space, action_space = (space_from_json(s) for s in spaces)
    encode = ObsEncoder(observation_space)
    n_actions = int(action_space.n)
    local = ActorCriticNet(encode.size, n_actions, h["hidden_size"], h["shared_layers"],
                           rng=rng)
    theta = shared["theta"]                         # the global parameters, flat
    local_theta = np.empty_like(theta)              # theta', this worker's copy
    bind_params(local, local_theta)
    optimizer = flat_optimizer(theta, h)            # steps theta in place ...
    global_theta = optimizer.params[0]              # (a Parameter whose data is theta)
    counters = bind_optimizer(optimizer, shared)    # ... with shared statistics
    guard = lock if h["lock"] else nullcontext()
    steps = shared["steps"]
    local_params = local.parameters()
    local_flat = local.flatten_parameters()
    rollout = Rollout(h["n_steps"], 1, encode.size)

    env = gym.make(env_id)
    obs, _ = env.reset(seed=int(rng.integers(2**31 - 1)))
    episode_return, episode_length = 0.0, 0
    finished = False
    while not finished and not stop.is_set() and os.getppid() == parent_pid:
        with guard:  # 1. theta' <- theta
            np.copyto(local_theta, theta)
        rollout.t = 0
        while not rollout.full:  # 2. n steps with the local policy
            if steps.sum() >= total_steps:
                finished = True
                break
            x = encode(obs)
            with no_grad():
                probs = local.policy(x[None]).data
            action = int(sample_categorical(probs, rng)[0])
            next_obs, reward, terminated, truncated = _checked_step(env, env_id, action,
                                                                    int(steps.sum()) + 1)
            rollout.add(x, action, reward, encode(next_obs), terminated, truncated)
            steps[1 + worker] += 1
            episode_return += float(reward)
            episode_length += 1
            obs = next_obs
            if terminated or truncated:
                messages.put(("episode", worker, int(steps.sum()), episode_return,
                              episode_length))
                episode_return, episode_length = 0.0, 0
                obs, _ = env.reset(seed=int(rng.integers(2**31 - 1)))
        if rollout.t == 0:
            break
        loss, _ = rollout_loss(local, *rollout.arrays(), h)  # 3. d theta'
        local.zero_grad()
        loss.backward()
        optim.clip_grad_norm(local_params, h["max_grad_norm"])
        global_theta.grad = local_flat.grad_or_zeros()  # d theta', already one array
        with guard:  # 4. apply d theta' to the global theta
            optimizer_step(optimizer, shared, counters)
            shared["updates"][worker] += 1
    env.close()


def _checked_step(env, env_id, action, step):
    """``env.step``, its failures said in one line with the env id and the global step,
    its observation and reward checked against the declared space."""
    try:
        next_obs, reward, terminated, truncated, _ = env.step(action)
    except Exception as error:  # noqa: BLE001
        raise env_failed(env_id, "step()", step, error) from error
    check_fits(env_id, step, next_obs, reward, env.observation_space)
    return next_obs, reward, terminated, truncated


# --- the agent -------------------------------------------------------------------------
class A3CAgent(ActorCriticBase):
    """Asynchronous advantage actor-critic: ``workers`` processes, one global network.

    Trained through ``train_parallel`` (``minirl.train`` calls it); ``act``, ``value``,
    ``save`` and ``load_agent`` work on the agent's own network, which holds the global
    parameters. ``worker_updates`` counts, after training, the gradient steps each
    worker applied to them.

    A3C is not deterministic: the order in which the workers' updates land depends on
    the operating system's scheduling, so two runs with one seed differ.
    """
    name = "a3c"
    hyperparameters = (
        HParam("workers", 2, int, "[1, inf)", "worker processes, each with its own env"),
        HParam("lock", True, bool, None, "apply each worker's update under a lock"),
    ) + actor_critic_hyperparameters(n_steps=5, returns="n-step", gae_lambda=1.0, lr=1e-3,
                                     entropy_coef=0.01)
    presets = {}

    def update(self, obs, action, reward, next_obs, terminated, truncated):
        raise RuntimeError("a3c learns in its worker processes: train it with "
                           "minirl.train (which calls train_parallel), not update()")

    # -- training -------------------------------------------------------------------
    def train_parallel(self, env_id, total_steps, start_step, seed, on_episode):
        """Run the workers until ``total_steps`` global steps or ``on_episode`` says stop.

        ``on_episode(step, episode_return, episode_length) -> bool`` is called in this
        process for every finished episode. Returns the global step reached.
        """
        h = self.hparams
        workers = int(h["workers"])
        context = mp.get_context("spawn")
        layout = shared_layout(self.net, h, workers)
        # Ctrl-C and SIGTERM may land only while waiting for episodes (``released``):
        # setting up and shutting down run with them held, so no signal timing leaves a
        # worker running, a segment in /dev/shm, or the network reading unmapped memory.
        with deferred() as signals:
            shared = SharedArrays(layout)
            processes, shared_in_use = [], False
            try:
                messages, stop, lock = context.Queue(), context.Event(), context.Lock()
                shared_in_use = True  # from here on the agent's network may point into it
                self._share(shared)
                shared["steps"][0] = start_step
                spaces = (space_to_json(self.observation_space),
                          space_to_json(self.action_space))
                with blocked_in_children():  # Ctrl-C is for this process, not the workers
                    for worker in range(workers):
                        process = context.Process(
                            target=run_worker, name=f"a3c-worker-{worker}", daemon=True,
                            args=(worker, env_id, seed, spaces, h, shared.name, layout, lock,
                                  stop, messages, total_steps, os.getpid()))
                        process.start()
                        processes.append(process)
                with signals.released():
                    self._receive(processes, messages, on_episode)
            finally:
                try:
                    if processes:
                        stop.set()
                        _shutdown(processes, messages)
                    if shared_in_use:  # copy the global parameters out before closing
                        self._unshare(shared)
                    self.worker_updates = shared["updates"].copy()
                    final_step = self.global_step = int(shared["steps"].sum())
                finally:
                    shared.close()
                    shared.unlink()
        return final_step

    def _receive(self, processes, messages, on_episode):
        """Pass episodes to ``on_episode`` until every worker is done or told to stop.

        Every 0.1 s it also looks for a worker that died without a word (killed by a
        signal, out of memory): busy queues must not hide a dead worker.
        """
        running = set(range(len(processes)))
        next_check = 0.0
        while running:
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + 0.1
                for worker in running:
                    code = processes[worker].exitcode
                    if code is not None and code != 0:
                        raise WorkerError(worker, f"its process exited with code {code} "
                                                  f"(a negative code -N: killed by signal N)")
            try:
                message = messages.get(timeout=0.05)
            except queue.Empty:
                continue
            kind, worker = message[0], message[1]
            if kind == "episode":
                if on_episode(*message[2:]):
                    return
            elif kind == "done":
                running.discard(worker)
            elif kind == "error":
                raise WorkerError(worker, message[2], message[3])

    def _share(self, shared):
        """Copy the agent's parameters and optimizer state into shared memory, then make
        its network read the shared parameters (evaluations see the live ones)."""
        shared["theta"][...] = self.net.flatten_parameters().data
        for key, value in flat_state(self.optimizer).items():
            shared[f"optim.{key}"][...] = value
        bind_params(self.net, shared["theta"])

    def _unshare(self, shared):
        """The final global parameters and statistics, as the agent's own copies."""
        bind_params(self.net, shared["theta"].copy())
        flat = {key[len("optim."):]: shared[key].copy() for key in shared.layout
                if key.startswith("optim.")}
        self.optimizer.load_state_dict(unflat_state(self.optimizer, flat))


def _drain(messages):
    """Empty the queue's pipe, so that a worker whose last messages are still being
    written can exit. The bytes are read raw, not unpickled: a Ctrl-C that interrupts
    ``messages.get`` halfway through a message leaves the pipe mid-frame, where decoding
    the rest fails (EOFError) or waits for a length that is not there."""
    try:
        fd = messages._reader.fileno()  # the read end of the queue's pipe
        os.set_blocking(fd, False)
        while os.read(fd, 1 << 16):  # b"": every writer has closed its end
            pass
    except OSError:  # BlockingIOError: nothing more to read; or the pipe is closed
        pass


def _shutdown(processes, messages, timeout=10.0):
    """Join every worker (``stop`` is already set). The queue is drained meanwhile: a
    process does not exit until what it put on a queue has been read off the pipe.
    A worker still alive after ``timeout`` is terminated, then killed."""
    deadline = time.monotonic() + timeout
    while any(p.is_alive() for p in processes) and time.monotonic() < deadline:
        _drain(messages)
        for p in processes:
            p.join(timeout=0.01)
    for p in processes:
        if p.is_alive():
            p.terminate()
            p.join(timeout=2.0)
        if p.is_alive():
            p.kill()
            p.join()
    _drain(messages)
    messages.close()
    messages.join_thread()
