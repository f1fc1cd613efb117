"""The training loop of the book: act, step, update, record the episode, evaluate.

    obs = env.reset(seed=episode_seed)
    while step < steps:
        action = agent.act(obs)                                        # act
        next_obs, reward, terminated, truncated, _ = env.step(action)  # step
        agent.update(obs, action, reward, next_obs, terminated, truncated)  # update
        if terminated or truncated:                                    # record the episode
            obs = env.reset(seed=next_episode_seed)
        every eval_every steps: evaluate the greedy policy             # evaluate

Three drivers run that same loop:

* ``one_env``: most agents, one env, ``act``/``update`` per step;
* ``vector_env``: agents with ``num_envs > 1`` (A2C, PPO) step N envs at once with
  ``act_batch``; ``update`` gets every env's next observation -- for a finished env the
  last one of its episode, which a truncated episode bootstraps from -- and only then
  are the finished envs reset;
* ``workers``: agents with worker processes of their own (A3C) run the loop in each
  worker; every finished episode is reported here and recorded the same way.

What the loop does not show is the ``run``'s (``minirl/trainer.py``): ``run.reset``
and ``run.step`` call the env and check what it returns, ``run.after_step`` logs
stats, evaluates, checkpoints and answers "stop?" (a signal, ``stop_return``).
The records and the episodes in flight are the ``RunState``'s (``minirl/runstate.py``).
"""
import numpy as np

__all__ = ["one_env", "vector_env", "workers"]


def one_env(agent, env, run):
    """The loop on one env. ``run.start`` resets it, or brings back the episode a
    resumed run was in (``minirl/resume.py``)."""
    state = run.state
    obs = run.start(env)
    while state.step < run.settings.steps:
        action = agent.act(obs)
        next_obs, reward, terminated, truncated = run.step(env, action)
        stats = agent.update(obs, action, reward, next_obs, terminated, truncated)
        state.step += 1
        state.running[0].record(action, reward)
        obs = next_obs
        if terminated or truncated:
            state.finish_episode()
            obs = run.reset(env, state.new_episode_seed())
        if run.after_step(1, stats):
            break


def vector_env(agent, envs, run):
    """The same loop on N envs in lock-step: row i of every array is env i."""
    state, n = run.state, envs.num_envs
    obs = run.start_all(envs)
    while state.step < run.settings.steps:
        actions = agent.act_batch(obs)
        next_obs, rewards, terminated, truncated = run.step_all(envs, actions)
        stats = agent.update(obs, actions, rewards, next_obs, terminated, truncated)
        state.step += n
        for i in range(n):
            state.running[i].record(actions[i], rewards[i])
        obs = next_obs
        done = terminated | truncated
        for i in np.flatnonzero(done):
            state.finish_episode(i)
        if done.any():
            obs = run.reset_finished(envs, done)
        if run.after_step(n, stats):
            break


def workers(agent, run):
    """The loop in the agent's own worker processes (A3C): each finished episode comes
    back as ``on_episode(global_step, return, length)`` and is recorded here."""
    state = run.state

    def on_episode(step, episode_return, episode_length):
        advanced = max(int(step) - state.step, 0)
        state.step = max(int(step), state.step)
        state.running[0].total = float(episode_return)
        state.running[0].length = int(episode_length)
        state.finish_episode()
        return run.after_step(advanced, None)

    reached = agent.train_parallel(run.env_id, run.settings.steps, state.step,
                                   run.settings.seed, run.uninterruptible(on_episode))
    # The workers report finished episodes only; the steps of the episodes they were in
    # when the budget ran out count too. A run that used its whole budget ends at its
    # last step, so its closing evaluation lands there, as in the other two loops.
    budget = run.settings.steps
    if reached >= budget > state.step and run.signals.requested is None:
        advanced, state.step = budget - state.step, budget
        run.after_step(advanced, None)
