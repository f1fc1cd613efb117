"""Mutation testing: does every formula have a test that fails when it is wrong?

Each entry of ``CATALOGUE`` is one plausible one-line bug -- a dropped
``(1 - terminated)``, the wrong network in a target, an off-by-one, a missing
normalisation, a wrong sign or axis, a skipped bias correction. For each one the
script copies ``minirl/`` and ``tests/`` (and ``setup.cfg``) into a temporary
directory, applies the bug there, and runs the test files that cover that formula:

    python -m pytest -x -q -p no:cacheprovider -k "not learns" FILES

with ``PYTHONPATH`` pointing at the copy. A failing run *kills* the mutant; a passing
run means the suite let the bug through (a *survivor*). The repository itself is
never written to.

Seeded learning tests (named ``test_learns_*``) are deselected: a bug must be caught
by an exact test, not by a threshold that a lucky seed can pass.

An entry whose original snippet is no longer in the file (the source was refactored)
is reported as *stale*: update the snippet. An entry marked ``equivalent`` is a
mutant that cannot change any result; it is listed with its reason and not run.

    python benchmarks/mutants.py                 # the whole catalogue, 2 at a time
    python benchmarks/mutants.py --only dqn -j 1  # entries whose file/text match 'dqn'
    python benchmarks/mutants.py --check          # only check that every snippet applies
    python benchmarks/mutants.py --list           # print the catalogue

See docs/testing.md for how to add an entry.
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
DESELECT = "not learns"  # seeded learning tests do not count as catching a bug


class Mutant(NamedTuple):
    file: str             # path under the repository root
    original: str         # exact snippet, must occur once in the file
    mutant: str           # what replaces it
    tests: tuple          # covering test files (or node ids)
    why: str              # the bug, in a few words
    equivalent: str = ""  # non-empty: cannot change behaviour, with the reason


T_TAB = ("tests/test_tabular.py",)
T_GRID = ("tests/test_tabular.py", "tests/test_gridworld.py")
T_QNET = ("tests/test_qnet.py",)
T_DQN = ("tests/test_dqn.py", "tests/test_dqn_variants.py")
T_VAR = ("tests/test_dqn_variants.py", "tests/test_dqn.py")
T_NOISY = ("tests/test_noisy_exact.py", "tests/test_dqn_variants.py")
T_REPLAY = ("tests/test_replay.py", "tests/test_dqn.py")
T_NSTEP = ("tests/test_replay.py", "tests/test_dqn_variants.py")
T_PG = ("tests/test_policy_gradient.py",)
T_A2C = ("tests/test_a2c.py",)
T_A3C = ("tests/test_a3c_exact.py", "tests/test_a3c.py")
T_DDPG = ("tests/test_ddpg.py",)
T_COMMON = ("tests/test_policy_gradient.py", "tests/test_a2c.py", "tests/test_qnet.py",
            "tests/test_dqn.py", "tests/test_ddpg.py")
T_FUN = ("tests/test_engine_exact.py", "tests/test_functions.py", "tests/test_core.py")
T_CORE = ("tests/test_engine_exact.py", "tests/test_core.py", "tests/test_functions.py")
T_LAYERS = ("tests/test_layers_exact.py", "tests/test_layers_optimizers.py")
T_OPTIM = ("tests/test_optimizers_exact.py", "tests/test_layers_optimizers.py",
           "tests/test_ddpg.py")

BANDIT, DP, MC, TD = (f"minirl/tabular/{m}.py" for m in ("bandit", "dp", "mc", "td"))
QNET, DQN, PG = "minirl/agents/qnet.py", "minirl/agents/dqn.py", "minirl/agents/policy_gradient.py"
A2C, A3C, DDPG = "minirl/agents/a2c.py", "minirl/agents/a3c.py", "minirl/agents/ddpg.py"
REPLAY, LAYERS, OPTIM = "minirl/replay.py", "minirl/layers.py", "minirl/optimizers.py"
FUNCS, CORE = "minirl/functions.py", "minirl/core.py"
CKPT, RUNDIR, CLI = "minirl/checkpoint.py", "minirl/rundir.py", "minirl/cli.py"
T_SEC = "tests/test_checkpoint_security.py"
FLAT, NOGRAD = "minirl/flat.py", "minirl/nograd.py"
COMMON = "minirl/agents/common.py"
PPO, TD3, SAC = "minirl/agents/ppo.py", "minirl/agents/td3.py", "minirl/agents/sac.py"
HPARAMS = "minirl/agents/hparams.py"
ROLLOUT = "minirl/agents/rollout.py"
T_PPO, T_TD3, T_SAC = ("tests/test_ppo.py",), ("tests/test_td3.py",), ("tests/test_sac.py",)
OFFPOLICY = "minirl/agents/offpolicy.py"
T_HPARAMS = ("tests/test_train.py", "tests/test_a2c.py", "tests/test_cli.py")
T_STATS, T_TUNE = ("tests/test_stats.py",), ("tests/test_tune.py",)
T_ROLLOUT = ("tests/test_a2c.py", "tests/test_ppo.py")
T_MINMAX = ("tests/test_minimum_maximum.py",)
T_PIXPOL = ("tests/test_pixels_policy.py",)
T_SUPPORT = tuple(f"tests/test_dqn_variants.py::{t}" for t in (
    "test_fit_support_by_hand",
    "test_the_agent_fits_its_support_when_learning_starts_and_starts_z_at_0",
    "test_learning_waits_while_every_reward_is_0_and_the_fit_is_saved",
    "test_c51_starts_as_a_point_mass_nearest_the_return_0"))

CATALOGUE = [
    # --- chapter 1: bandits -------------------------------------------------------------
    Mutant(BANDIT, "self.Qs[action] += (reward - self.Qs[action]) / self.ns[action]",
           "self.Qs[action] += (reward - self.Qs[action]) / (self.ns[action] + 1)", T_TAB,
           "incremental mean divides by n + 1"),
    Mutant(BANDIT, "self.Qs[action] += (reward - self.Qs[action]) / self.ns[action]",
           "self.Qs[action] += reward / self.ns[action]", T_TAB,
           "incremental mean without - Q_{n-1}"),
    Mutant(BANDIT, "self.Qs[action] += (reward - self.Qs[action]) * self.alpha",
           "self.Qs[action] += (reward - self.Qs[action]) * (1 - self.alpha)", T_TAB,
           "constant step size 1 - alpha"),
    Mutant(BANDIT, "self.Qs[action] += (reward - self.Qs[action]) * self.alpha",
           "self.Qs[action] = reward * self.alpha", T_TAB, "constant step Q = alpha R"),
    Mutant(BANDIT, "self.Qs[action] += (reward - self.Qs[action]) * self.alpha",
           "self.Qs[action] += (reward - self.Qs[action]) / self.ns[action]", T_TAB,
           "AlphaAgent falls back to the sample average"),
    Mutant(BANDIT, "if self.rng.random() < self.epsilon:", "if self.rng.random() > self.epsilon:",
           T_TAB, "explores with probability 1 - epsilon"),
    Mutant(BANDIT, "return int(np.argmax(self.Qs))  # exploit", "return int(np.argmin(self.Qs))",
           T_TAB, "exploits the worst arm"),
    Mutant(BANDIT, "rates = np.cumsum(rewards) / np.arange(1, steps + 1)",
           "rates = np.cumsum(rewards) / steps", T_TAB, "running average over all steps"),
    # --- chapter 4: dynamic programming ---------------------------------------------------
    Mutant(DP, "new_v += action_prob * (r + gamma * V[next_state])",
           "new_v += (r + gamma * V[next_state])", T_TAB,
           "policy evaluation ignores pi(a|s)"),
    Mutant(DP, "new_v += action_prob * (r + gamma * V[next_state])",
           "new_v += action_prob * (r + V[next_state])", T_TAB, "policy evaluation without gamma"),
    Mutant(DP, "new_v += action_prob * (r + gamma * V[next_state])",
           "new_v += action_prob * r + gamma * V[next_state]", T_TAB,
           "policy evaluation: pi(a|s) on the reward only"),
    Mutant(DP, "new_v += action_prob * (r + gamma * V[next_state])\n"
               "        delta = max(delta, abs(new_v - V[state]))",
           "new_v += action_prob * (r + gamma * V[next_state])\n"
           "        delta = max(delta, new_v - V[state])", T_TAB,
           "policy evaluation stops on a signed change"),
    Mutant(DP, "values[action] = env.reward(state, action, next_state) + gamma * V[next_state]",
           "values[action] = env.reward(state, action, next_state) + gamma * V[state]", T_TAB,
           "q(s, a) bootstraps from V(s), not V(s')"),
    Mutant(DP, "values[action] = env.reward(state, action, next_state) + gamma * V[next_state]",
           "values[action] = env.reward(state, action, next_state) + V[next_state]", T_TAB,
           "q(s, a) without gamma"),
    Mutant(DP, "return max(d, key=d.get)", "return min(d, key=d.get)", T_TAB,
           "greedy policy takes the worst action"),
    Mutant(DP, "new_v = max(action_values(V, env, state, gamma).values())",
           "new_v = min(action_values(V, env, state, gamma).values())", T_TAB,
           "value iteration with min"),
    Mutant(DP, "new_v = max(action_values(V, env, state, gamma).values())",
           "new_v = sum(action_values(V, env, state, gamma).values()) / len(env.actions())",
           T_TAB, "value iteration averages (evaluates the random policy)"),
    Mutant(DP, "V = policy_eval(pi, V, env, gamma, threshold)  # start from the last V",
           "V = policy_eval(pi, V, env, gamma, 1.0)  # start from the last V", T_TAB,
           "policy iteration evaluates with a loose threshold"),
    # --- chapter 5: Monte Carlo -------------------------------------------------------------
    Mutant(MC, "probs = np.full(action_size, epsilon / action_size)",
           "probs = np.full(action_size, epsilon / (action_size - 1))", T_TAB,
           "epsilon-greedy spreads epsilon over |A| - 1"),
    Mutant(MC, "probs[np.argmax(qs)] += 1.0 - epsilon", "probs[np.argmax(qs)] = 1.0 - epsilon",
           T_TAB, "greedy action loses its epsilon / |A|"),
    Mutant(MC, "probs[np.argmax(qs)] += 1.0 - epsilon", "probs[np.argmin(qs)] += 1.0 - epsilon",
           T_TAB, "epsilon-greedy on the worst action"),
    Mutant(MC, "G = reward + self.gamma * G  # G_t = R_t + gamma G_{t+1}, built backwards",
           "G = reward + G", T_TAB, "MC return without gamma"),
    Mutant(MC, "G = reward + self.gamma * G  # G_t = R_t + gamma G_{t+1}, built backwards",
           "G = self.gamma * (reward + G)", T_TAB, "MC return discounts R_t too"),
    Mutant(MC, "self.V[state] += (G - self.V[state]) / self.cnts[state]",
           "self.V[state] += (G - self.V[state]) / (self.cnts[state] + 1)", T_TAB,
           "MC sample average divides by n + 1"),
    Mutant(MC, "G = 0.0 if terminated else self.V[final_state]  # bootstrap only on truncation",
           "G = 0.0", T_TAB, "MC evaluation never bootstraps on truncation"),
    Mutant(MC, "G = 0.0 if terminated else self.V[final_state]  # bootstrap only on truncation",
           "G = self.V[final_state]", T_TAB, "MC evaluation bootstraps after termination"),
    Mutant(MC, "            G = reward + self.gamma * G\n"
               "            self.Q[state, action] += (G - self.Q[state, action]) * self.alpha\n"
               "            self.pi[state] = greedy_probs(self.Q[state], self.epsilon)",
           "            G = reward + self.gamma * G\n"
           "            self.Q[state, action] += G * self.alpha\n"
           "            self.pi[state] = greedy_probs(self.Q[state], self.epsilon)", T_TAB,
           "MC control: Q += alpha G"),
    Mutant(MC, "            G = reward + self.gamma * G\n"
               "            self.Q[state, action] += (G - self.Q[state, action]) * self.alpha\n"
               "            self.pi[state] = greedy_probs(self.Q[state], self.epsilon)",
           "            G = reward + self.gamma * G\n"
           "            self.Q[state, action] += (G - self.Q[state, action]) * self.alpha\n"
           "            self.pi[state] = greedy_probs(self.Q[state], 0.0)", T_TAB,
           "MC control: on-policy pi made fully greedy"),
    Mutant(MC, "G = 0.0 if terminated else self.pi[final_state] @ self.Q[final_state]\n"
               "        for state",
           "G = 0.0 if terminated else self.Q[final_state].mean()\n        for state", T_TAB,
           "MC control bootstraps with the uniform average of Q"),
    Mutant(MC, "G = reward + self.gamma * rho * G", "G = rho * (reward + self.gamma * G)", T_TAB,
           "off-policy MC: ratio also weighs R_t"),
    Mutant(MC, "G = reward + self.gamma * rho * G", "G = reward + self.gamma * G", T_TAB,
           "off-policy MC without importance sampling"),
    Mutant(MC, "rho = self.pi[state, action] / self.b[state, action]  # weighs the step before",
           "rho *= self.pi[state, action] / self.b[state, action]", T_TAB,
           "off-policy MC accumulates rho (each ratio applied again)"),
    Mutant(MC, "rho = self.pi[state, action] / self.b[state, action]  # weighs the step before",
           "rho = self.b[state, action] / self.pi[state, action]", T_TAB,
           "off-policy MC: ratio b / pi"),
    Mutant(MC, "G = 0.0 if terminated else self.pi[final_state] @ self.Q[final_state]\n"
               "        rho = 1.0",
           "G = 0.0 if terminated else self.b[final_state] @ self.Q[final_state]\n"
           "        rho = 1.0", T_TAB, "off-policy MC bootstraps with b's value"),
    # --- chapter 6: TD --------------------------------------------------------------------
    Mutant(TD, "self.V[state] += (target - self.V[state]) * self.alpha",
           "self.V[state] += target * self.alpha", T_TAB, "TD(0): V += alpha y"),
    Mutant(TD, "self.V[state] += (target - self.V[state]) * self.alpha",
           "self.V[state] = target * self.alpha", T_TAB, "TD(0): V = alpha y"),
    Mutant(TD, "next_V = 0.0 if terminated else self.V[next_state]",
           "next_V = self.V[next_state]", T_TAB, "TD(0) bootstraps after termination"),
    Mutant(TD, "target = reward + self.gamma * next_V", "target = reward + next_V", T_TAB,
           "TD(0) without gamma"),
    Mutant(TD, "next_q = 0.0 if terminated else self.Q[next_state, next_action]",
           "next_q = 0.0 if terminated else self.Q[next_state].max()", T_TAB,
           "SARSA bootstraps from max (Q-learning)"),
    Mutant(TD, "target = reward + self.gamma * next_q\n"
               "        self.Q[state, action] += (target - self.Q[state, action]) * self.alpha",
           "target = reward + self.gamma * next_q\n"
           "        self.Q[state, action] = target * self.alpha", T_TAB, "SARSA: Q = alpha y"),
    Mutant(TD, "target = reward + self.gamma * next_q\n"
               "        self.Q[state, action] += (target - self.Q[state, action]) * self.alpha",
           "target = reward + self.gamma * next_q\n"
           "        self.Q[state, action] += target * self.alpha", T_TAB, "SARSA: Q += alpha y"),
    Mutant(TD, "self.pi[state] = greedy_probs(self.Q[state], self.epsilon)",
           "self.pi[state] = greedy_probs(self.Q[state], 0.0)", T_TAB,
           "SARSA's policy made fully greedy"),
    Mutant(TD, "rho = self.pi[next_state, next_action] / self.b[next_state, next_action]",
           "rho = self.b[next_state, next_action] / self.pi[next_state, next_action]", T_TAB,
           "off-policy SARSA: ratio b / pi"),
    Mutant(TD, "target = rho * (reward + self.gamma * next_q)",
           "target = reward + self.gamma * rho * next_q", T_TAB,
           "off-policy SARSA: rho on the bootstrap only"),
    Mutant(TD, "target = rho * (reward + self.gamma * next_q)",
           "target = reward + self.gamma * next_q", T_TAB, "off-policy SARSA without rho"),
    Mutant(TD, "next_q_max = 0.0 if terminated else self.Q[next_state].max()",
           "next_q_max = 0.0 if terminated else self.Q[next_state].mean()", T_TAB,
           "Q-learning bootstraps from the mean (expected SARSA, uniform)"),
    Mutant(TD, "next_q_max = 0.0 if terminated else self.Q[next_state].max()",
           "next_q_max = self.Q[next_state].max()", T_TAB,
           "Q-learning bootstraps after termination"),
    Mutant(TD, "target = reward + self.gamma * next_q_max\n"
               "        self.Q[state, action] += (target - self.Q[state, action]) * self.alpha",
           "target = reward + self.gamma * next_q_max\n"
           "        self.Q[state, action] = target * self.alpha", T_TAB, "Q-learning: Q = alpha y"),
    Mutant(TD, "target = reward + self.gamma * next_q_max\n"
               "        self.Q[state, action] += (target - self.Q[state, action]) * self.alpha",
           "target = reward + self.gamma * next_q_max\n"
           "        self.Q[state, action] += target * self.alpha", T_TAB,
           "Q-learning: Q += alpha y"),
    Mutant(TD, "target = reward + self.gamma * next_q_max\n"
               "        self.Q[state, action] += (target - self.Q[state, action]) * self.alpha",
           "target = reward + self.gamma * next_q_max\n"
           "        self.Q[state, action] += (target - self.Q[state, action]) * (1 - self.alpha)",
           T_TAB, "Q-learning step size 1 - alpha"),
    Mutant(TD, "next_action = None if terminated else agent.get_action(next_state)",
           "next_action = None if terminated or truncated else agent.get_action(next_state)",
           T_TAB, "SARSA loop drops A' after truncation (then cannot bootstrap)"),
    # --- chapter 7: Q-learning with a network ------------------------------------------------
    Mutant(QNET, "return bootstrapped_target(reward, next_q.max(axis=-1), terminated, gamma)",
           "return bootstrapped_target(reward, next_q.max(axis=-1), 0.0, gamma)", T_QNET,
           "qnet target without (1 - terminated)"),
    Mutant(QNET, "return bootstrapped_target(reward, next_q.max(axis=-1), terminated, gamma)",
           "return bootstrapped_target(reward, next_q.mean(axis=-1), terminated, gamma)", T_QNET,
           "qnet target with mean, not max"),
    Mutant(QNET, "return bootstrapped_target(reward, next_q.max(axis=-1), terminated, gamma)",
           "return bootstrapped_target(reward, next_q.max(axis=-1), terminated, 1.0)", T_QNET,
           "qnet target without gamma"),
    Mutant(QNET, "next_q = self.q_values(next_obs)", "next_q = self.q_values(obs)", T_QNET,
           "qnet bootstraps from Q(s, .)"),
    Mutant(QNET, "float(terminated),\n", "float(terminated or truncated),\n",
           T_QNET, "qnet: done = terminated or truncated"),
    Mutant(QNET, "q = self.qnet(self.encode(obs)[None])[0, action]",
           "q = self.qnet(self.encode(next_obs)[None])[0, action]", T_QNET,
           "qnet regresses Q(s', a)"),
    Mutant(QNET, "if explore and self.rng.random() < self.hparams[\"epsilon\"]:",
           "if explore and self.rng.random() > self.hparams[\"epsilon\"]:", T_QNET,
           "qnet explores with probability 1 - epsilon"),
    # --- chapter 8: DQN -------------------------------------------------------------------
    Mutant(DQN, "    not_terminal = 1.0 - np.asarray(terminated, np.result_type(reward))\n"
           "    return reward + gamma_n * not_terminal * next_q_target.max(axis=1)",
           "    not_terminal = 1.0\n"
           "    return reward + gamma_n * not_terminal * next_q_target.max(axis=1)", T_DQN,
           "DQN target without (1 - terminated)"),
    Mutant(DQN, "return reward + gamma_n * not_terminal * next_q_target.max(axis=1)",
           "return reward + gamma_n * not_terminal * next_q_target.mean(axis=1)", T_DQN,
           "DQN target with the mean"),
    Mutant(DQN, "return reward + gamma_n * not_terminal * next_q_target.max(axis=1)",
           "return reward + gamma_n * (1 - not_terminal) * next_q_target.max(axis=1)", T_DQN,
           "DQN target bootstraps only on termination"),
    Mutant(DQN, "return reward + gamma_n * not_terminal * next_q_target.max(axis=1)",
           "return reward + not_terminal * next_q_target.max(axis=1)", T_DQN,
           "DQN target without gamma"),
    Mutant(DQN, "    not_terminal = 1.0 - np.asarray(terminated, np.result_type(reward))\n"
           "    return reward + gamma_n * not_terminal * next_q_target[np.arange(len(best)), best]",
           "    not_terminal = 1.0\n"
           "    return reward + gamma_n * not_terminal * next_q_target[np.arange(len(best)), best]",
           T_DQN, "Double DQN target without (1 - terminated)"),
    Mutant(DQN, "next_out = self.target_qnet(batch.next_obs).data",
           "next_out = self.qnet(batch.next_obs).data", T_DQN,
           "DQN target from the online network"),
    Mutant(DQN, "out_a = F.pick(self.qnet(batch.obs), batch.action)",
           "out_a = F.pick(self.qnet(batch.next_obs), batch.action)", T_DQN,
           "DQN regresses Q(s', a)"),
    Mutant(DQN, "optim.hard_update(self.target_qnet, self.qnet)\n\n    def learn",
           "optim.hard_update(self.qnet, self.target_qnet)\n\n    def learn", T_DQN,
           "target sync copies the wrong way"),
    Mutant(DQN, "if h[\"target_update_interval\"] and self.steps % h[\"target_update_interval\"] == 0:",
           "if h[\"target_update_interval\"] and (self.steps + 1) % h[\"target_update_interval\"] == 0:",
           T_DQN, "target sync one step early"),
    Mutant(DQN, "if (self.steps >= h[\"learning_starts\"] and",
           "if (self.steps > h[\"learning_starts\"] and", T_DQN, "learning starts one step late"),
    Mutant(DQN, "if epsilon > 0 and self.rng.random() < epsilon:",
           "if epsilon > 0 and self.rng.random() > epsilon:", T_DQN,
           "DQN explores with probability 1 - epsilon"),
    Mutant(DQN, "return linear_schedule(h[\"epsilon_start\"], h[\"epsilon_end\"], h[\"exploration_steps\"],",
           "return linear_schedule(h[\"epsilon_end\"], h[\"epsilon_start\"], h[\"exploration_steps\"],",
           T_DQN,
           "epsilon schedule runs backwards"),
    Mutant(DQN, "d = q - target\n    per_sample", "d = target - q\n    per_sample", T_DQN,
           "weighted loss with d = y - Q (equivalent for both losses)",
           equivalent="MSE and Huber are even functions of d, and the gradient of l(y - Q) "
                      "in Q equals that of l(Q - y)"),
    Mutant(DQN, "return F.mean(per_sample * weights)", "return F.mean(per_sample)", T_DQN,
           "IS weights dropped from the TD loss"),
    Mutant(DQN, "return F.mean(per_sample * weights)", "return F.sum(per_sample * weights)", T_DQN,
           "weighted TD loss summed, not averaged"),
    Mutant(DQN, "return F.mean_squared_error(q, target) if kind == \"mse\" else F.huber_loss(q, target)",
           "return F.huber_loss(q, target) if kind == \"mse\" else F.mean_squared_error(q, target)",
           T_DQN, "mse and huber swapped"),
    Mutant(DQN, 'HParam("loss", "mse", str', 'HParam("loss", "huber", str', T_DQN,
           "default TD loss Huber, not the squared error"),
    Mutant(DQN, '"exploration_steps": 8000, "loss": "huber"},', '"exploration_steps": 8000},',
           T_DQN, "noisy preset on the shared squared error, not Huber"),
    Mutant(DQN, "per_sample = d * d if kind == \"mse\" else F.huber(d)",
           "per_sample = F.huber(d) if kind == \"mse\" else d * d", T_DQN,
           "weighted TD loss: mse and huber swapped"),
    Mutant(FUNCS, "quadratic = 0.5 * d * d", "quadratic = d * d", T_FUN + T_DQN,
           "Huber without 1/2 near zero"),
    # --- chapter 8: Double DQN, prioritized replay in the agent --------------------------------
    Mutant(DQN, "return (next_q_target if next_q_online is None else next_q_online).argmax(axis=1)",
           "return next_q_target.argmax(axis=1)", T_DQN, "Double DQN: the target network chooses"),
    Mutant(DQN, "return (next_q_target if next_q_online is None else next_q_online).argmax(axis=1)",
           "return (next_q_target if next_q_online is None else next_q_online).argmin(axis=1)",
           T_DQN, "bootstrap from the worst next action (DQN, Double, C51)"),
    Mutant(DQN, "not_terminal * next_q_target[np.arange(len(best)), best]",
           "not_terminal * next_q_online[np.arange(len(best)), best]", T_DQN,
           "Double DQN: the online network values"),
    Mutant(DQN, "best = next_q_online.argmax(axis=1)", "best = next_q_target.argmax(axis=1)",
           T_DQN, "double_dqn_target ignores the online network"),
    Mutant(DQN, "next_online = self._q(self.qnet, batch.next_obs) if h[\"double\"] else None",
           "next_online = self._q(self.target_qnet, batch.next_obs) if h[\"double\"] else None",
           T_DQN, "Double DQN in the agent: target net chooses"),
    Mutant(DQN, "return linear_schedule(h[\"per_beta\"], 1.0, h[\"per_beta_steps\"], self.steps)",
           "return h[\"per_beta\"]", T_DQN, "beta never annealed"),
    Mutant(DQN, "return linear_schedule(h[\"per_beta\"], 1.0, h[\"per_beta_steps\"], self.steps)",
           "return linear_schedule(1.0, h[\"per_beta\"], h[\"per_beta_steps\"], self.steps)",
           T_DQN, "beta annealed from 1 down to beta_0"),
    Mutant(DQN, "td_error = out_a.data - target  # delta",
           "td_error = out_a.data", T_DQN, "priority |Q| instead of |delta|"),
    Mutant(DQN, "td_error = out_a.data - target  # delta",
           "td_error = (out_a.data - target) ** 2", T_DQN, "priority delta^2"),
    Mutant(DQN, "td_error = out_a.data - target  # delta",
           "td_error = target - out_a.data", T_DQN, "priority -delta",
           equivalent="update_priorities takes |delta|"),
    # --- chapter 10: n-step in the agent, dueling, C51 -----------------------------------------
    Mutant(DQN, "return (gamma ** steps).astype(np.float32)",
           "return np.full(len(steps), gamma ** steps.max(), np.float32)", T_VAR,
           "n-step: gamma^n also for short transitions"),
    Mutant(DQN, "return (gamma ** steps).astype(np.float32)",
           "return np.full(len(steps), gamma, np.float32)", T_VAR,
           "n-step bootstrap discounted by gamma, not gamma^n"),
    Mutant(DQN, "return (gamma ** steps).astype(np.float32)",
           "return (gamma ** (steps - 1)).astype(np.float32)", T_VAR,
           "n-step bootstrap gamma^(n-1)"),
    Mutant(DQN, "return value + advantage - F.mean(advantage, axis=axis, keepdims=True)",
           "return value + advantage - F.mean(advantage, axis=0, keepdims=True)", T_VAR,
           "dueling mean over the batch"),
    Mutant(DQN, "return value + advantage - F.mean(advantage, axis=axis, keepdims=True)",
           "return value + advantage - F.max(advantage, axis=1, keepdims=True)", T_VAR,
           "dueling with max (Eq. 8) instead of mean (Eq. 9)"),
    Mutant(DQN, "return value + advantage - F.mean(advantage, axis=axis, keepdims=True)",
           "return value + advantage", T_VAR, "dueling without the identifying mean"),
    Mutant(DQN, "return dueling_aggregate(value, advantage, axis=len(batch))",
           "return dueling_aggregate(value, advantage, axis=1)", T_VAR,
           "dueling mean over axis 1 also for one observation"),
    Mutant(DQN, "discount = np.asarray(gamma_n * (1.0 - np.asarray(terminated, np.float64)))",
           "discount = np.asarray(gamma_n * np.ones_like(np.asarray(terminated, np.float64)))",
           T_VAR, "C51 projection ignores termination"),
    Mutant(DQN, "dz = (v_max - v_min) / (n_atoms - 1)", "dz = (v_max - v_min) / n_atoms", T_VAR,
           "C51 atom spacing off by one"),
    Mutant(DQN, "to_lower = next_probs * (upper - b + (lower == upper))",
           "to_lower = next_probs * (upper - b)", T_VAR,
           "C51 loses the mass of atoms that land exactly on the support"),
    Mutant(DQN, "to_upper = next_probs * (b - lower)", "to_upper = next_probs * (upper - b)",
           T_VAR, "C51 upper share uses the lower distance"),
    Mutant(DQN, "tz = np.clip(tz, v_min, v_max)", "tz = tz", T_VAR, "C51 without clamping T z",
           equivalent="b is clipped to [0, N - 1] on the next line, which is the same clamp"),
    Mutant(DQN, "return -F.sum(F.log_softmax(logits, axis=-1) * target_probs, axis=-1)",
           "return -F.sum(F.log_softmax(logits, axis=0) * target_probs, axis=-1)", T_VAR,
           "C51 cross-entropy: softmax over the batch"),
    Mutant(DQN, "return -F.sum(F.log_softmax(logits, axis=-1) * target_probs, axis=-1)",
           "return -F.sum(F.softmax(logits, axis=-1) * target_probs, axis=-1)", T_VAR,
           "C51 cross-entropy on p, not log p"),
    Mutant(DQN, "return -F.sum(F.log_softmax(logits, axis=-1) * target_probs, axis=-1)",
           "return F.sum(F.log_softmax(logits, axis=-1) * target_probs, axis=-1)", T_VAR,
           "C51 cross-entropy with the wrong sign"),
    Mutant(DQN, "return F.softmax(out, axis=-1).data @ self.support",
           "return out @ self.support", T_VAR, "C51 Q values from logits, not probabilities"),
    Mutant(DQN, "return F.softmax(out, axis=-1).data @ self.support",
           "return F.softmax(out, axis=1).data @ self.support", T_VAR,
           "C51 Q values: softmax over actions"),
    Mutant(DQN, "next_probs = F.softmax(next_out, axis=-1).data[self.rows, best]",
           "next_probs = F.softmax(next_out, axis=-1).data[self.rows, 0]", T_VAR,
           "C51 projects the first action's distribution, not a*'s"),
    Mutant(DQN, "loss = F.mean(per_sample if weights is None else per_sample * weights)",
           "loss = F.mean(per_sample)", T_VAR, "C51 with PER drops the IS weights"),
    Mutant(DQN, "weights = batch.weights if h[\"prioritized\"] else None",
           "weights = None", T_DQN, "prioritized replay drops the IS weights"),
    Mutant(DQN, "weights = batch.weights if h[\"prioritized\"] else None",
           "weights = batch.weights", T_DQN, "uniform replay multiplies by its weights",
           equivalent="uniform weights are all one: the same gradients bit for bit "
           "(test_uniform_replay_loss_has_the_unit_weight_gradient_bit_for_bit)"),
    Mutant(DQN, "td_error = per_sample.data  # Rainbow: the loss is the priority",
           "td_error = np.sqrt(per_sample.data)", T_VAR, "Rainbow priority sqrt(loss)"),
    # --- chapter 10: noisy networks --------------------------------------------------------------
    Mutant(LAYERS, "return np.sign(e) * np.sqrt(np.abs(e))", "return e", T_NOISY, "noisy f(x) = x"),
    Mutant(LAYERS, "return np.sign(e) * np.sqrt(np.abs(e))", "return np.sign(e) * e * e",
           T_NOISY, "noisy f(x) = sgn(x) x^2"),
    Mutant(LAYERS, "return np.sign(e) * np.sqrt(np.abs(e))", "return np.sqrt(np.abs(e))",
           T_NOISY, "noisy f without the sign"),
    Mutant(LAYERS, "eps_in, eps_out = eps[:self.in_size], eps[self.in_size:]",
           "eps_in, eps_out = eps[:self.in_size], eps[:self.out_size]", T_NOISY,
           "eps_out reuses the first draws of eps_in"),
    Mutant(LAYERS, "self.eps_W = np.outer(eps_in, eps_out)",
           "self.eps_W = np.outer(eps_in, np.ones_like(eps_out))", T_NOISY,
           "weight noise not factorised with eps_out"),
    Mutant(LAYERS, "W = self.W_mu + self.W_sigma * self.eps_W", "W = self.W_mu + self.eps_W",
           T_NOISY, "learning path: weight noise without sigma"),
    Mutant(LAYERS, "b = self.b_mu + self.b_sigma * self.eps_b", "b = self.b_mu", T_NOISY,
           "learning path drops the bias noise"),
    Mutant(LAYERS, "sigma = sigma0 / np.sqrt(in_size)", "sigma = sigma0 / in_size", T_NOISY,
           "noisy sigma initialised sigma0 / in"),
    Mutant(LAYERS, "self.eps_b = eps_out", "self.eps_b = np.sqrt(np.abs(eps_out))", T_NOISY,
           "bias noise without its sign"),
    Mutant(DQN, "self.qnet.reset_noise()\n                return int(",
           "return int(", T_NOISY, "noisy agent acts on stale noise"),
    Mutant(DQN, "self.qnet.reset_noise()\n        self.target_qnet.reset_noise()",
           "self.qnet.reset_noise()", T_NOISY, "target network's noise never redrawn"),
    Mutant(DQN, "self.qnet.remove_noise()\n        return self._q",
           "return self._q", T_NOISY, "greedy q_values keep the noise"),
    # C51's point-mass start (start_at_atom)
    Mutant(DQN, "offset[:, atom] = logit", "offset[:, atom] = -logit", T_VAR,
           "C51 starts with the zero atom's logit lowered"),
    Mutant(DQN, "start_at_atom(self.qnet, int(np.argmin(np.abs(self.support))))",
           "start_at_atom(self.qnet, int(np.argmax(np.abs(self.support))))", T_VAR,
           "C51 starts at the support's edge"),
    Mutant(DQN, "layer = qnet.value if qnet.dueling else qnet.head",
           "layer = qnet.advantage if qnet.dueling else qnet.head", T_VAR,
           "dueling C51 starts in A's stream, which the mean cancels"),
    Mutant(DQN, "            start_at_atom(self.qnet, int(np.argmin(np.abs(self.support))))",
           "            pass", T_VAR,
           "C51 starts uniform"),
    # C51's support fitted to the warm-up (fit_support, ReturnScale, the agent's fit)
    Mutant(DQN, "if not terminated:  # a reward the episode went on from",
           "if True:  # a reward the episode went on from", T_SUPPORT,
           "a goal's reward counted in the stream's rate"),
    Mutant(DQN, "high = min(v[\"pos_max\"], v[\"r_max\"] * horizon)", "high = v[\"pos_max\"]",
           T_SUPPORT, "support not capped at r_max / (1 - gamma)"),
    Mutant(DQN, "low = max(v[\"neg_min\"], v[\"r_min\"] * horizon)", "low = v[\"neg_min\"]",
           T_SUPPORT, "support's low end not capped at r_min / (1 - gamma)"),
    Mutant(DQN, "rate = v[\"reward_sum\"] / max(v[\"steps\"], 1) * horizon",
           "rate = v[\"reward_sum\"] / max(v[\"steps\"], 1)", T_SUPPORT,
           "the stream's rate not carried to 1 / (1 - gamma)"),
    Mutant(DQN, "v[\"episode_pos\"] = v[\"episode_neg\"] = 0.0", "pass", T_SUPPORT,
           "episode reward sums never reset"),
    Mutant(DQN, "bound = max(high, -low, abs(rate))", "bound = max(high, -low)", T_SUPPORT,
           "support without the stream's rate"),
    Mutant(DQN, "bound = max(high, -low, abs(rate))", "bound = max(high, abs(rate))", T_SUPPORT,
           "support blind to negative returns"),
    Mutant(DQN, "self.support_pending = bool(state[\"support_pending\"])", "pass", T_SUPPORT,
           "a loaded agent fits its support again"),
    Mutant(DQN, "offset = np.zeros((bias.data.size // qnet.n_atoms, qnet.n_atoms), bias.data.dtype)",
           "offset = np.zeros((qnet.n_atoms, bias.data.size // qnet.n_atoms), bias.data.dtype)",
           T_VAR, "point-mass offset laid out atoms-major"),
    # --- replay, prioritized replay, n-step -------------------------------------------------------
    Mutant(REPLAY, "self.position = (self.position + 1) % self.capacity  # wrap",
           "self.position = (self.position + 1) % (self.capacity - 1)  # wrap", T_REPLAY,
           "ring buffer wraps one slot early"),
    Mutant(REPLAY, "self.size = min(self.size + 1, self.capacity)",
           "self.size = min(self.size + 1, self.capacity - 1)", T_REPLAY,
           "buffer size one short of the capacity"),
    Mutant(REPLAY, "indices = self.rng.integers(0, self.size, size=batch_size)",
           "indices = self.rng.integers(0, self.size - 1, size=batch_size)", T_REPLAY,
           "uniform replay never samples the newest transition"),
    Mutant(REPLAY, "self.terminated[index] = float(bool(terminated))",
           "self.terminated[index] = float(not terminated)", T_REPLAY,
           "buffer stores not-terminated"),
    Mutant(REPLAY, "go_right = mass >= left_sum", "go_right = mass > left_sum", T_REPLAY,
           "sum tree descent: boundary goes left"),
    Mutant(REPLAY, "mass = np.where(go_right, mass - left_sum, mass)",
           "mass = np.where(go_right, mass, mass - left_sum)", T_REPLAY,
           "sum tree descent subtracts on the wrong side"),
    Mutant(REPLAY, "self.tree[node] = self.op(self.tree[2 * node], self.tree[2 * node + 1])",
           "self.tree[node] = self.op(self.tree[2 * node], self.tree[2 * node])", T_REPLAY,
           "batched tree update ignores the right child"),
    Mutant(REPLAY, "self.tree[node] = self.scalar_op(self.tree[2 * node], self.tree[2 * node + 1])",
           "self.tree[node] = self.tree[2 * node] + self.tree[2 * node + 1]", T_REPLAY,
           "single-leaf update always sums (breaks the min tree)"),
    Mutant(REPLAY, "priority_alpha = self.max_priority ** self.alpha",
           "priority_alpha = self.max_priority", T_REPLAY,
           "new transitions get max p, not (max p)^alpha"),
    Mutant(REPLAY, "masses = (np.arange(batch_size) + self.rng.random(batch_size)) * segment",
           "masses = self.rng.random(batch_size) * total", T_REPLAY,
           "PER sampling not stratified"),
    Mutant(REPLAY, "probs = self.sum_tree[indices] / total ",
           "probs = self.sum_tree[indices] ", T_REPLAY, "P(i) not normalised"),
    Mutant(REPLAY, "weights = (self.size * probs) ** -beta ", "weights = (self.size * probs) ** beta ",
           T_REPLAY, "IS weights with exponent +beta"),
    Mutant(REPLAY, "return self._gather(indices, weights / max_weight)",
           "return self._gather(indices, weights / weights.max())", T_REPLAY,
           "IS weights normalised by the batch max"),
    Mutant(REPLAY, "return self._gather(indices, weights / max_weight)",
           "return self._gather(indices, weights)", T_REPLAY, "IS weights not normalised"),
    Mutant(REPLAY, "priorities = np.abs(np.asarray(td_errors, dtype=np.float64)).reshape(-1) + self.eps",
           "priorities = np.abs(np.asarray(td_errors, dtype=np.float64)).reshape(-1)", T_REPLAY,
           "priority without eps"),
    Mutant(REPLAY, "priorities = np.abs(np.asarray(td_errors, dtype=np.float64)).reshape(-1) + self.eps",
           "priorities = np.asarray(td_errors, dtype=np.float64).reshape(-1) + self.eps", T_REPLAY,
           "priority without |.|"),
    Mutant(REPLAY, "self.sum_tree.update(indices, priorities ** self.alpha)",
           "self.sum_tree.update(indices, priorities)", T_REPLAY,
           "sum tree stores p, not p^alpha"),
    Mutant(REPLAY, "self.min_tree.update(indices, priorities ** self.alpha)\n        self.max",
           "self.min_tree.update(indices, priorities)\n        self.max", T_REPLAY,
           "min tree stores p, not p^alpha"),
    Mutant(REPLAY, "self.max_priority = max(self.max_priority, float(priorities.max(initial=0.0)))",
           "self.max_priority = float(priorities.max(initial=0.0))", T_REPLAY,
           "max priority forgets earlier maxima"),
    Mutant(REPLAY, "fraction = min(max(t / duration, 0.0), 1.0)",
           "fraction = min(max((t + 1) / duration, 0.0), 1.0)", T_REPLAY,
           "linear schedule one step ahead"),
    Mutant(REPLAY, "return start + fraction * (end - start)", "return start + fraction * end",
           T_REPLAY, "linear schedule overshoots"),
    Mutant(REPLAY, "discounts = gamma ** np.arange(len(rewards))",
           "discounts = gamma ** np.arange(1, len(rewards) + 1)", T_NSTEP,
           "n-step return discounts the first reward"),
    Mutant(REPLAY, "if len(self.pending) == self.n:", "if len(self.pending) == self.n + 1:",
           T_NSTEP, "n-step window one too long"),
    Mutant(REPLAY, "completed = [self._complete(start, bool(terminated))",
           "completed = [self._complete(start, bool(terminated or truncated))", T_NSTEP,
           "n-step: truncation treated as termination"),
    Mutant(REPLAY, "next_obs = steps[-1][3]", "next_obs = steps[0][3]", T_NSTEP,
           "n-step bootstraps from s_{t+1}"),
    Mutant(REPLAY, "next_obs, terminated, len(steps))", "next_obs, terminated, self.n)", T_NSTEP,
           "n-step: short transitions claim n steps"),
    # --- chapter 9: policy gradient ------------------------------------------------------------
    Mutant(PG, "return float(np.sum(gamma ** np.arange(len(rewards)) * rewards))",
           "return float(np.sum(gamma ** np.arange(1, len(rewards) + 1) * rewards))", T_PG,
           "G(tau) discounts the first reward"),
    Mutant(PG, "return float(np.sum(gamma ** np.arange(len(rewards)) * rewards))",
           "return float(np.sum(rewards))", T_PG, "G(tau) without discount"),
    Mutant(PG, "g = rewards[t] + gamma * g", "g = rewards[t] + g", T_PG,
           "reward-to-go without gamma"),
    Mutant(PG, "for t in range(len(rewards) - 1, -1, -1):", "for t in range(len(rewards) - 1, 0, -1):",
           T_PG, "reward-to-go skips t = 0"),
    Mutant(PG, "g = float(bootstrap)", "g = 0.0", T_PG, "reward-to-go ignores the bootstrap"),
    Mutant(PG, "return np.asarray(returns) - np.asarray(values)",
           "return np.asarray(returns) + np.asarray(values)", T_PG, "advantage G + b"),
    Mutant(PG, "next_values,\n                                     terminated, self.hparams",
           "next_values,\n                                     0.0, self.hparams", T_PG,
           "actor-critic TD target without (1 - terminated)"),
    Mutant(PG, "return -F.sum(log_probs * weights)", "return F.sum(log_probs * weights)", T_PG,
           "policy loss with the wrong sign (descends J)"),
    Mutant(PG, "return -F.sum(log_probs * weights)", "return -F.mean(log_probs * weights)", T_PG,
           "policy loss averaged over steps"),
    Mutant(PG, "return np.full(len(rewards), discounted_return(rewards, self.hparams[\"gamma\"]))",
           "return reward_to_go(rewards, self.hparams[\"gamma\"])", T_PG,
           "simple PG weights by G_t"),
    Mutant(PG, "return reward_to_go(rewards, self.hparams[\"gamma\"])\n",
           "return np.full(len(rewards), discounted_return(rewards, self.hparams[\"gamma\"]))\n",
           T_PG,
           "REINFORCE weights by G(tau)"),
    Mutant(PG, "if not terminated[-1]:", "if terminated[-1]:", T_PG,
           "baseline agent bootstraps after termination"),
    Mutant(PG, "bootstrap = float(self.v(next_x[-1:]).data[0, 0])",
           "bootstrap = float(self.v(next_x[:1]).data[0, 0])", T_PG,
           "truncation bootstrap from the wrong state"),
    Mutant(PG, "weights = advantage(returns, values.data)", "weights = returns", T_PG,
           "REINFORCE with baseline forgets the baseline"),
    Mutant(PG, "\"value\": value_loss(values, returns)}", "\"value\": value_loss(values, weights)}",
           T_PG, "baseline fitted to the advantage"),
    Mutant(PG, "delta = advantage(target, values.data)", "delta = target", T_PG,
           "actor-critic delta without - V(s)"),
    Mutant(PG, "next_values = self.v(next_x).data.reshape(len(x))",
           "next_values = self.v(x).data.reshape(len(x))", T_PG, "actor-critic bootstraps from V(s)"),
    Mutant(PG, "loss_pi = loss_pi - (self.hparams[\"entropy_coef\"]",
           "loss_pi = loss_pi + (self.hparams[\"entropy_coef\"]", T_PG,
           "entropy bonus with the wrong sign"),
    Mutant(PG, "return {name: sum(losses[name] for losses in per_episode) / len(per_episode)",
           "return {name: sum(losses[name] for losses in per_episode)", T_PG,
           "a batch of episodes summed, not averaged"),
    Mutant(PG, "return {name: sum(losses[name] for losses in per_episode) / len(per_episode)",
           "return {name: per_episode[-1][name]", T_PG,
           "a batch of episodes learns from its last episode only"),
    Mutant(PG, "if len(self.episodes) < self.hparams[\"episodes_per_update\"]:",
           "if len(self.episodes) < self.hparams[\"episodes_per_update\"] - 1:", T_PG,
           "learns one episode before the batch is full"),
    Mutant(PG, "return linear_schedule(h[\"lr\"], 0.0, h[\"anneal_steps\"], self.steps)",
           "return linear_schedule(h[\"lr\"], 0.0, h[\"anneal_steps\"], self.steps - 1)", T_PG,
           "the lr schedule one step behind"),
    Mutant(PG, "return linear_schedule(h[\"lr\"], 0.0, h[\"anneal_steps\"], self.steps)",
           "return linear_schedule(h[\"lr\"], h[\"lr\"] * 0.1, h[\"anneal_steps\"], self.steps)",
           T_PG, "the lr decays to a tenth, not to 0"),
    Mutant(PG, "self.optimizer.lr = self.learning_rate()", "pass", T_PG,
           "the lr schedule never reaches the optimizer"),
    Mutant(PG, "self.steps = int(state.get(\"steps\", 0))", "self.steps = 0", T_PG,
           "a resumed run restarts the lr schedule"),
    Mutant(PG, "starts = np.cumsum(np.concatenate([[0], state.get(\"episodes_lengths\", [])]))",
           "starts = np.cumsum(np.concatenate([[0], []]))", T_PG,
           "a resumed run forgets the episodes waiting for their update"),
    Mutant(PG, "done[-1] = terminated  # a truncated episode's last state is not terminal",
           "done[-1] = True", T_PG, "episodic agents treat truncation as termination"),
    Mutant(PG, "return int(sample_categorical(p[None], self.rng)[0])",
           "return int(sample_categorical(p[None, ::-1], self.rng)[0])", T_PG,
           "PG agent samples from the reversed probabilities"),
    # --- shared formulas (agents/common.py) -----------------------------------------------
    Mutant(COMMON, "not_terminal = 1.0 - np.asarray(terminated, np.result_type(reward))",
           "not_terminal = 1.0", T_COMMON, "every TD target bootstraps after termination"),
    Mutant(COMMON, "return reward + gamma * not_terminal * next_value",
           "return reward + not_terminal * next_value", T_COMMON, "TD target without gamma"),
    Mutant(COMMON, "return reward + gamma * not_terminal * next_value",
           "return gamma * (reward + not_terminal * next_value)", T_COMMON,
           "TD target discounts the reward too"),
    Mutant(COMMON, "return (cdf <= u).sum(axis=1)", "return (cdf >= u).sum(axis=1)", T_COMMON,
           "sampling counts the wrong side of the CDF"),
    Mutant(COMMON, "u = rng.random((len(probs), 1)) * cdf[:, -1:]",
           "u = rng.random((len(probs), 1)) * cdf[:, :1]", T_COMMON,
           "sampling scaled by the first CDF entry"),
    Mutant(COMMON, "cdf = np.cumsum(probs, axis=1)", "cdf = np.cumsum(probs, axis=0)", T_COMMON,
           "CDF over the batch axis"),
    Mutant(COMMON, "return F.pick(F.log_softmax(logits, axis=-1), actions)",
           "return F.pick(F.log_softmax(logits, axis=0), actions)", T_COMMON,
           "log pi normalised over the batch"),
    Mutant(COMMON, "return F.pick(F.log_softmax(logits, axis=-1), actions)",
           "return F.pick(F.log_softmax(logits, axis=-1), np.zeros_like(actions))", T_COMMON,
           "log pi of the first action, not the one taken"),
    Mutant(COMMON, "return F.pick(F.log_softmax(logits, axis=-1), actions)",
           "return F.pick(logits, actions)", T_COMMON,
           "log pi as the raw logit (not normalised)"),
    Mutant(COMMON, "return -F.sum(F.exp(log_p) * log_p, axis=-1)",
           "return F.sum(F.exp(log_p) * log_p, axis=-1)", T_COMMON, "entropy with the wrong sign"),
    Mutant(COMMON, "return -F.sum(F.exp(log_p) * log_p, axis=-1)", "return -F.sum(log_p, axis=-1)",
           T_COMMON, "entropy without pi"),
    Mutant(COMMON, "return -F.sum(F.exp(log_p) * log_p, axis=-1)",
           "return -F.sum(F.exp(log_p) * log_p, axis=0)", T_COMMON, "entropy over the batch axis"),
    # --- chapter 10: A2C ------------------------------------------------------------------------
    Mutant(ROLLOUT, "following = np.where(done[t], next_values[t], following)",
           "following = np.where(terminated[t], next_values[t], following)", T_A2C,
           "n-step return runs through a truncation into the next episode"),
    Mutant(ROLLOUT, "returns[t] = rewards[t] + gamma * np.where(terminated[t], 0.0, following)",
           "returns[t] = rewards[t] + gamma * following", T_A2C,
           "n-step return bootstraps after termination"),
    Mutant(ROLLOUT, "following = next_values[-1]  # the rollout's end: bootstrap from V(s_T)",
           "following = np.zeros_like(next_values[-1])", T_A2C,
           "n-step return does not bootstrap at the rollout's end"),
    Mutant(ROLLOUT, "deltas = rewards + gamma * np.where(terminated, 0.0, next_values) - values",
           "deltas = rewards + gamma * np.where(terminated, 0.0, next_values)", T_A2C,
           "GAE delta without - V(s)"),
    Mutant(ROLLOUT, "deltas = rewards + gamma * np.where(terminated, 0.0, next_values) - values",
           "deltas = rewards + gamma * np.where(terminated | truncated, 0.0, next_values) - values",
           T_A2C, "GAE delta does not bootstrap on truncation"),
    Mutant(ROLLOUT, "carry = np.where(terminated | truncated, 0.0, gamma * lam)",
           "carry = np.where(terminated, 0.0, gamma * lam)", T_A2C,
           "GAE sum runs across a truncation"),
    Mutant(ROLLOUT, "carry = np.where(terminated | truncated, 0.0, gamma * lam)",
           "carry = np.where(terminated | truncated, 0.0, lam)", T_A2C, "GAE carry without gamma"),
    Mutant(A2C, "policy_loss = -F.mean(categorical_log_prob(logits, actions) * advantages)",
           "policy_loss = F.mean(categorical_log_prob(logits, actions) * advantages)", T_A2C,
           "A2C policy loss sign"),
    Mutant(A2C, "entropy = F.mean(categorical_entropy(logits))",
           "entropy = F.sum(categorical_entropy(logits))", T_A2C,
           "A2C entropy summed over the batch, not averaged"),
    Mutant(A2C, "loss = policy_loss + value_coef * value_loss - entropy_coef * entropy",
           "loss = policy_loss + value_coef * value_loss + entropy_coef * entropy", T_A2C,
           "A2C entropy bonus with the wrong sign"),
    Mutant(A2C, "loss = policy_loss + value_coef * value_loss - entropy_coef * entropy",
           "loss = policy_loss + value_loss - entropy_coef * entropy", T_A2C,
           "A2C value coefficient dropped"),
    Mutant(A2C, "returns = advantages + v", "returns = advantages", T_A2C,
           "GAE critic target without + V(s)"),
    Mutant(A2C, "advantages = returns - v", "advantages = returns", T_A2C,
           "n-step advantage without - V(s)"),
    Mutant(A2C, "next_values = net.value(next_obs.reshape(T * N, -1)).data.reshape(T, N)",
           "next_values = net.value(obs.reshape(T * N, -1)).data.reshape(T, N)", T_A2C,
           "A2C bootstraps from V(s_t)"),
    Mutant(A2C, "policy_loss = -F.mean(categorical_log_prob(logits, actions) * advantages)",
           "policy_loss = -F.mean(categorical_log_prob(logits, actions))", T_A2C,
           "A2C policy loss without the advantage"),
    # --- chapter 10: A3C --------------------------------------------------------------------------
    Mutant(A3C, "with guard:  # 1. theta' <- theta\n            np.copyto(local_theta, theta)",
           "with guard:  # 1. theta' <- theta\n            pass", T_A3C,
           "worker never syncs theta' <- theta"),
    Mutant(A3C, "global_theta.grad = local_flat.grad_or_zeros()",
           "global_theta.grad = -local_flat.grad_or_zeros()", T_A3C,
           "worker applies the gradient with the wrong sign"),
    Mutant(A3C, "optim.clip_grad_norm(local_params, h[\"max_grad_norm\"])",
           "pass", T_A3C, "worker does not clip its gradient"),
    Mutant(A3C, "enumerate(L.views(np.asarray(flat[f\"{name}.0\"]), optimizer.shapes))",
           "enumerate(L.views(np.asarray(flat[f\"{name}.0\"]), optimizer.shapes[::-1]))", T_A3C,
           "unflat_state cuts the statistics in the wrong order"),
    Mutant(A3C, "setattr(optimizer, key, int(shared[f\"optim.{key}\"]))",
           "pass", T_A3C, "workers keep their own Adam step count"),
    Mutant(A3C, "        while os.read(fd, 1 << 16):  # b\"\": every writer has closed its end\n"
                "            pass",
           "        while True:\n            messages.get_nowait()", ("tests/test_a3c.py",),
           "shutdown drains by decoding a pipe a Ctrl-C left mid-message"),
    Mutant(A3C, "                episode_return, episode_length = 0.0, 0",
           "                episode_length = 0", ("tests/test_loop_records.py",),
           "a worker never resets its episode return"),
    # --- the training loop's bookkeeping ------------------------------------------------------
    Mutant("minirl/runstate.py", "self.total += float(reward)", "self.total = float(reward)",
           ("tests/test_loop_records.py",), "episode return overwritten by the last reward"),
    Mutant("minirl/runstate.py", "self.running[i] = Episode(int(self.rng.integers(2**31 - 1)))",
           "self.running[i].seed = int(self.rng.integers(2**31 - 1))",
           ("tests/test_loop_records.py",), "an env's episode return never reset"),
    Mutant("minirl/loop.py",
           "stats = agent.update(obs, actions, rewards, next_obs, terminated, truncated)",
           "stats = agent.update(obs, actions, rewards, run.reset_finished(envs, terminated | "
           "truncated) if (terminated | truncated).any() else next_obs, terminated, truncated)",
           ("tests/test_loop_records.py",),
           "vector loop: update gets the next episode's reset observation"),
    Mutant("minirl/loop.py",
           "stats = agent.update(obs, action, reward, next_obs, terminated, truncated)",
           "stats = agent.update(obs, action, reward, run.reset(env, state.new_episode_seed()) "
           "if terminated or truncated else next_obs, terminated, truncated)",
           ("tests/test_loop_records.py",),
           "one-env loop: update gets the next episode's reset observation"),
    Mutant("minirl/trainer.py",
           "if len(state.running) == n and all(e.seed is not None for e in state.running):",
           "if False:", ("tests/test_train.py::test_a_resumed_vector_run_ends_where_an_"
                         "uninterrupted_one_does",),
           "a resumed vector run starts new episodes instead of replaying its own"),
    Mutant("minirl/runstate.py", "episode.actions = actions[start:start + int(length)]",
           "episode.actions = actions[:int(length)]",
           ("tests/test_train.py::test_a_resumed_vector_run_ends_where_an_"
            "uninterrupted_one_does",),
           "every env replays the first env's actions"),
    Mutant("minirl/loop.py", "        if terminated or truncated:\n            state.finish_episode()",
           "        if terminated:\n            state.finish_episode()",
           ("tests/test_loop_records.py",), "the one-env loop does not end an episode at "
           "truncation"),
    Mutant("minirl/loop.py", "if reached >= budget > state.step and run.signals.requested is None:",
           "if False:", ("tests/test_a3c.py",),
           "an A3C run ends at its last finished episode, without its closing evaluation"),
    Mutant("minirl/loop.py", "advanced, state.step = budget - state.step, budget",
           "advanced, state.step = 0, budget", ("tests/test_a3c.py",),
           "an A3C run's last steps counted for no evaluation"),
    Mutant("minirl/train.py", "env.step(agent.act(obs, explore=False))",
           "env.step(agent.act(obs))", ("tests/test_loop_records.py",),
           "evaluation explores"),
    # --- chapter 10: DDPG (and the off-policy loop it shares with TD3 and SAC) ------------------
    Mutant(OFFPOLICY, "center = (high + low) / 2", "center = (high - low) / 2", T_DDPG,
           "action centre (high - low) / 2"),
    Mutant(OFFPOLICY, "half_range = (high - low) / 2", "half_range = high - low", T_DDPG,
           "action half-range not halved"),
    Mutant(DDPG, "return bootstrapped_target(reward, next_q, terminated, gamma)",
           "return bootstrapped_target(reward, next_q, 0.0, gamma)", T_DDPG,
           "DDPG target without (1 - terminated)"),
    Mutant(DDPG, "return -F.mean(critic(obs, actor(obs)))", "return F.mean(critic(obs, actor(obs)))",
           T_DDPG, "actor descends Q"),
    Mutant(DDPG, "loss = actor_loss(self.actor, self.critic, obs)",
           "loss = actor_loss(self.actor, self.critic_target, obs)", T_DDPG,
           "actor differentiates through the target critic"),
    Mutant(DDPG, "loss = self.update_actor(batch.obs)", "loss = self.update_actor(batch.next_obs)",
           T_DDPG, "actor trained on next_obs"),
    Mutant(DDPG, "next_q = self.critic_target(batch.next_obs, self.actor_target(batch.next_obs))",
           "next_q = self.critic_target(batch.next_obs, self.actor(batch.next_obs))", T_DDPG,
           "critic target uses the online actor"),
    Mutant(DDPG, "next_q = self.critic_target(batch.next_obs, self.actor_target(batch.next_obs))",
           "next_q = self.critic(batch.next_obs, self.actor_target(batch.next_obs))", T_DDPG,
           "critic target uses the online critic"),
    Mutant(DDPG, "next_q = self.critic_target(batch.next_obs, self.actor_target(batch.next_obs))",
           "next_q = self.critic_target(batch.obs, self.actor_target(batch.obs))", T_DDPG,
           "critic target at s, not s'"),
    Mutant(OFFPOLICY, "F.mean_squared_error(q(batch.obs, batch.action), y)",
           "F.mean_squared_error(q(batch.obs, self.actor(batch.obs).data), y)", T_DDPG,
           "critic regresses Q(s, mu(s)), not Q(s, a)"),
    Mutant(OFFPOLICY, "optim.soft_update(target, network, self.tau)",
           "optim.soft_update(network, target, self.tau)", T_DDPG,
           "Polyak update moves the networks towards their targets (DDPG's tests)"),
    Mutant(OFFPOLICY, "optim.hard_update(target, network)", "pass", T_DDPG,
           "targets start at their own random weights, not as copies"),
    Mutant(OFFPOLICY, "        self.encode(next_obs), terminated)",
           "        self.encode(obs), terminated)", T_DDPG, "replay stores s as s'"),
    Mutant(OFFPOLICY, "if self.steps < max(self.learning_starts, self.batch_size):",
           "if self.steps <= max(self.learning_starts, self.batch_size):", T_DDPG,
           "learning starts one step late"),
    Mutant(OFFPOLICY, "action = self.rng.uniform(self.low, self.high).astype(np.float32)",
           "action = self.rng.uniform(-1, 1, self.low.shape).astype(np.float32)", T_DDPG,
           "warm-up actions in [-1, 1], not the bounds"),
    Mutant(DDPG, "batch = self.remember(obs, action, reward, next_obs, terminated)",
           "batch = self.remember(obs, action, reward, next_obs, terminated or truncated)",
           T_DDPG, "DDPG stores a truncated step as terminal"),
    Mutant(DDPG, "if terminated or truncated:", "if terminated:", T_DDPG,
           "OU noise carried over a truncation into the next episode"),
    Mutant(DDPG, "return [(self.actor_target, self.actor), (self.critic_target, self.critic)]",
           "return [(self.actor_target, self.actor)]", T_DDPG, "the critic's target never moves"),
    Mutant(DDPG, "if explore and self.steps < self.learning_starts:",
           "if self.steps < self.learning_starts:", T_DDPG,
           "greedy action random during the warm-up"),
    Mutant(DDPG, "        critic_loss = self.update_critics(batch, y)\n"
                 "        loss = self.update_actor(batch.obs)\n",
           "        loss = self.update_actor(batch.obs)\n"
           "        critic_loss = self.update_critics(batch, y)\n", T_DDPG,
           "actor steps on the critic before the critic's step"),
    Mutant(DDPG, "        critic_loss = self.update_critics(batch, y)\n"
                 "        loss = self.update_actor(batch.obs)\n"
                 "        self.update_targets()\n",
           "        self.update_targets()\n"
           "        critic_loss = self.update_critics(batch, y)\n"
           "        loss = self.update_actor(batch.obs)\n", T_DDPG,
           "targets averaged before the networks' steps"),
    Mutant(DDPG, "self.sigma * np.float32(np.sqrt(self.dt)) * eps",
           "self.sigma * np.float32(self.dt) * eps", T_DDPG, "OU noise scaled by dt, not sqrt(dt)"),
    Mutant(DDPG, "self.state += (-self.theta * self.dt) * self.state + \\",
           "self.state += (-self.theta) * self.state + \\", T_DDPG, "OU drift without dt"),
    Mutant(DDPG, "action = np.clip(action + self.noise(), self.low, self.high)",
           "action = action + self.noise()", T_DDPG, "exploration not clipped to the bounds"),
    Mutant(DDPG, "sigma = h[\"noise_std\"] * (self.high - self.low) / 2",
           "sigma = h[\"noise_std\"]", T_DDPG,
           "noise_std absolute, not relative to the half-range"),
    # --- engine: arithmetic ---------------------------------------------------------------------
    Mutant(FUNCS, "return gy, -gy", "return gy, gy", T_FUN, "sub backward: no minus"),
    Mutant(FUNCS, "return gy * x1, gy * x0", "return gy * x0, gy * x1", T_FUN,
           "mul backward: factors swapped"),
    Mutant(FUNCS, "return gx0, -gx0 * x0 / x1", "return gx0, gx0 * x0 / x1", T_FUN,
           "div backward: sign of the denominator's gradient"),
    Mutant(FUNCS, "return gx0, -gx0 * x0 / x1", "return gx0, -gx0 * x0", T_FUN,
           "div backward: x0 / x1^2 as x0 / x1"),
    Mutant(FUNCS, "return gy * (self.c * x ** (self.c - 1))", "return gy * (x ** (self.c - 1))",
           T_FUN, "pow backward without c"),
    Mutant(FUNCS, "return -gy\n", "return gy\n", T_FUN, "neg backward without minus"),
    # --- engine: element-wise -------------------------------------------------------------------
    Mutant(FUNCS, "return gy * self.y  # d exp(x) = exp(x)", "return gy", T_FUN,
           "exp backward: 1"),
    Mutant(FUNCS, "return gy / self.inputs[0].data", "return gy * self.inputs[0].data", T_FUN,
           "log backward: x, not 1/x"),
    Mutant(FUNCS, "return gy * (1 - self.y * self.y)", "return gy * (1 - self.y)", T_FUN,
           "tanh backward 1 - y"),
    Mutant(FUNCS, "return gy * self.y * (1 - self.y)", "return gy * (1 - self.y)", T_FUN,
           "sigmoid backward (1 - y)"),
    Mutant(FUNCS, "return gy * (self.inputs[0].data > 0)", "return gy * (self.inputs[0].data < 0)",
           T_FUN, "relu backward on the negative side"),
    Mutant(FUNCS, "return gy * (self.inputs[0].data > 0)", "return gy",
           T_FUN, "relu backward passes everything"),
    Mutant(FUNCS, "self.y = np.exp(x)", "self.y = 2 * np.exp(x)", T_FUN,
           "exp forward doubled (its backward, gy * y, agrees with it)"),
    # --- engine: linear and relu without a graph (nograd.py) -----------------------------------
    Mutant(NOGRAD, "return _constant(op.forward(None, _array(x)))",
           "return _constant(_array(x))",
           T_FUN, "relu without a graph is the identity"),
    Mutant(NOGRAD, "return _constant(op.forward(None, x, W, b))",
           "return _constant(op.forward(None, x, W))", T_FUN,
           "linear without a graph drops the bias"),
    Mutant(NOGRAD, "    x, W = _array(x), _array(W)\n    b = None if b is None else _array(b)\n",
           "    x, W = _array(x), _array(W)\n    b = None if b is None else -_array(b)\n",
           T_FUN, "linear without a graph subtracts a Variable bias"),
    Mutant(FUNCS, "        return nograd.relu(ReLU, x)", "        return ReLU()(-x)", T_FUN,
           "relu without a graph of -x"),
    # --- engine: softmax family -----------------------------------------------------------------
    Mutant(FUNCS, "return m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))",
           "return np.log(np.exp(x - m).sum(axis=axis, keepdims=True))", T_FUN,
           "logsumexp forgets the shift m"),
    Mutant(FUNCS, "e = np.exp(x - x.max(axis=self.axis, keepdims=True))", "e = np.exp(x)", T_FUN,
           "softmax without the max shift (overflows)"),
    Mutant(FUNCS, "return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))",
           "return y * gy", T_FUN, "softmax backward: diagonal only"),
    Mutant(FUNCS, "return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))",
           "return y * (gy - (gy * y).sum(axis=0, keepdims=True))", T_FUN,
           "softmax backward: sum over the wrong axis"),
    Mutant(FUNCS, "return gy - np.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)",
           "return gy - np.exp(self.y)", T_FUN, "log_softmax backward without sum(gy)"),
    Mutant(FUNCS, "return gy * np.exp(x - self.y)  # d logsumexp / dx = softmax(x)",
           "return gy * np.exp(x)", T_FUN, "logsumexp backward: exp(x), not softmax"),
    # --- engine: reductions ---------------------------------------------------------------------
    Mutant(FUNCS, "return np.broadcast_to(gy / np.asarray(self.count, gy.dtype), shape)",
           "return np.broadcast_to(gy, shape)", T_FUN, "mean backward: missing 1/N"),
    Mutant(FUNCS, "self.count = x.size // total.size if total.size else 0",
           "self.count = x.size", T_FUN, "mean over an axis divides by every element"),
    Mutant(FUNCS, "return total / np.asarray(self.count, x.dtype)  # stays float32",
           "return total / np.asarray(x.shape[0], x.dtype)  # stays float32", T_FUN,
           "mean divides by the first axis only"),
    Mutant(FUNCS, "return gy * mask / mask.sum(axis=self.axis, keepdims=True).astype(gy.dtype)",
           "return gy * mask", T_FUN, "max backward: ties each get the full gradient"),
    Mutant(FUNCS, "shape = [1 if i in axes else n for i, n in enumerate(x_shape)]",
           "shape = [n if i in axes else 1 for i, n in enumerate(x_shape)]", T_FUN,
           "reduction backward restores the wrong axes"),
    # --- engine: shapes, broadcasting -----------------------------------------------------------
    Mutant(FUNCS, "return gy.transpose(np.argsort(self.axes))  # the inverse permutation",
           "return gy.transpose(self.axes)", T_FUN, "transpose backward: not inverted"),
    Mutant(CORE, "lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1)",
           "i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1)", T_CORE,
           "sum_to: axis index not shifted by the leading axes"),
    Mutant(FUNCS, "return np.broadcast_to(gy, self.inputs[0].data.shape)\n\n\ndef reshape",
           "return np.broadcast_to(gy.sum(), self.inputs[0].data.shape)\n\n\ndef reshape",
           T_FUN, "sum_to backward sums again"),
    # --- engine: linear algebra -----------------------------------------------------------------
    Mutant(FUNCS, "return gx, gW, (gy.sum(axis=0) if self.needs_grad(2) else None)",
           "return gx, gW, (gy.sum(axis=0) / len(gy) if self.needs_grad(2) else None)",
           T_FUN + T_LAYERS, "linear bias gradient averaged"),
    Mutant(FUNCS, "gW = x.T @ gy if self.needs_grad(1) else None",
           "gW = x.T @ gy / len(x) if self.needs_grad(1) else None",
           T_FUN + T_LAYERS, "linear weight gradient averaged over the batch"),
    Mutant(FUNCS, "gx = gy @ W.T if self.needs_grad(0) else None",
           "gx = gy @ W.T * 0.5 if self.needs_grad(0) else None", T_FUN + T_LAYERS,
           "linear input gradient scaled"),
    Mutant(FUNCS, "gW = np.matmul(np.swapaxes(x2, -1, -2), gy)",
           "gW = np.matmul(np.swapaxes(x2, -1, -2), gy) * 2", T_FUN, "matmul weight gradient scaled"),
    # --- engine: selection ----------------------------------------------------------------------
    Mutant(FUNCS, "np.add.at(gx, self.index, gy)  # x[[0, 0]]", "gx[self.index] = gy  # x[[0, 0]]",
           T_FUN, "get_item backward: repeated indices do not accumulate"),
    Mutant(FUNCS, "gx[self.rows, self.index] = gy  # each", "gx[self.rows, 0] = gy  # each",
           T_FUN, "pick backward: the gradient to the first column, not the picked one"),
    Mutant(FUNCS, "gx[self.rows, self.index] = gy  # each", "gx[self.index, self.rows] = gy  # each",
           T_FUN, "pick backward: rows and columns swapped"),
    Mutant(FUNCS, "return x[self.rows, self.index]", "return x[self.index, self.rows]",
           T_FUN, "pick forward: rows and columns swapped"),
    Mutant(COMMON, "return F.pick(F.log_softmax(logits, axis=-1), actions)",
           "return F.pick(F.softmax(logits, axis=-1), actions)", T_COMMON,
           "log pi(a|s) without the log"),
    Mutant(FUNCS, "inside &= x >= self.lo", "inside &= x > self.lo", T_FUN,
           "clip backward at the lower bound"),
    Mutant(FUNCS, "return tuple(np.split(gy, np.cumsum(sizes)[:-1], axis=self.axis))",
           "return tuple(np.split(gy, len(sizes), axis=self.axis))", T_FUN + T_DDPG,
           "concat backward splits evenly"),
    # --- engine: losses -------------------------------------------------------------------------
    Mutant(FUNCS, "return np.vdot(self.diff, self.diff) / np.asarray(self.diff.size, self.diff.dtype)",
           "return np.vdot(self.diff, self.diff) / np.asarray(len(self.diff), self.diff.dtype)",
           T_FUN, "mean squared error divides by the rows only"),
    Mutant(FUNCS, "gx = self.diff * (gy * 2 / self.diff.size)",
           "gx = self.diff * (gy * 2 / len(self.diff))", T_FUN,
           "MSE gradient divided by the batch length (DeZero's)"),
    Mutant(FUNCS, "gx = self.diff * (gy * 2 / self.diff.size)",
           "gx = self.diff * (gy / self.diff.size)", T_FUN, "MSE gradient without 2"),
    Mutant(FUNCS, "return np.vdot(self.diff, self.diff) / np.asarray(self.diff.size, self.diff.dtype)",
           "return np.vdot(self.diff, self.diff)", T_FUN, "MSE summed, not averaged"),
    Mutant(FUNCS, "linear = self.delta * (a - 0.5 * self.delta)", "linear = self.delta * a", T_FUN,
           "Huber linear part not continuous"),
    Mutant(FUNCS, "return gy * np.clip(d, -self.delta, self.delta).astype(d.dtype, copy=False)",
           "return gy * d", T_FUN, "Huber gradient not clipped"),
    Mutant(FUNCS, "gx[np.arange(n), self.labels] -= 1", "gx[np.arange(n), self.labels] += 1",
           T_FUN, "softmax cross-entropy backward: + onehot"),
    Mutant(FUNCS, "return gx * (gy / n)", "return gx * gy", T_FUN,
           "softmax cross-entropy backward not averaged"),
    # --- engine: backward itself ----------------------------------------------------------------
    Mutant(CORE, "x.grad = gx if x.grad is None else x.grad + gx",
           "x.grad = gx", T_CORE, "gradients of a shared node overwrite, not accumulate"),
    Mutant(CORE, "heapq.heappush(heap, (-x.creator.generation, tie, x.creator))",
           "heapq.heappush(heap, (x.creator.generation, tie, x.creator))", T_CORE,
           "backward runs the input side first"),
    Mutant(CORE, "if Config.enable_backprop:\n            self.record(", 
           "if True:\n            self.record(", T_CORE, "no_grad still builds the graph"),
    # --- engine: layers -------------------------------------------------------------------------
    Mutant(LAYERS, "bound = 1.0 / np.sqrt(in_size)\n        self.in_size, self.out_size = "
                   "int(in_size), int(out_size)\n        self.W",
           "bound = 1.0 / in_size\n        self.in_size, self.out_size = "
           "int(in_size), int(out_size)\n        self.W", T_LAYERS, "Linear init 1/in, not 1/sqrt(in)"),
    Mutant(LAYERS, "x = self.activation(layer(x))", "x = layer(x)", T_LAYERS + T_PG,
           "MLP without its activation"),
    Mutant(LAYERS, "return self.output_activation(x) if self.output_activation else x",
           "return x", T_LAYERS + T_DDPG, "MLP ignores the output activation"),
    # --- engine: optimizers ---------------------------------------------------------------------
    Mutant(OPTIM, "correction1 = 1 - self.b1 ** self.t", "correction1 = 1", T_OPTIM,
           "Adam skips the first-moment bias correction"),
    Mutant(OPTIM, "self.step_size = self.lr * correction2 / correction1",
           "self.step_size = self.lr * correction2 ** 2 / correction1",
           T_OPTIM, "Adam second-moment correction without sqrt"),
    Mutant(OPTIM, "m += (1 - self.b1) * (g - m)", "m += (1 - self.b1) * g", T_OPTIM,
           "Adam first moment does not decay"),
    Mutant(OPTIM, "v += (1 - self.b2) * (g * g - v)", "v += (1 - self.b2) * (np.abs(g) - v)",
           T_OPTIM, "Adam second moment of |g|"),
    Mutant(OPTIM, "theta -= self.step_size * m / denominator",
           "theta -= self.step_size * g / denominator", T_OPTIM, "Adam steps along g, not m"),
    Mutant(OPTIM, "self.eps_hat = self.eps * correction2", "self.eps_hat = self.eps", T_OPTIM,
           "Adam eps not folded with the correction", ),
    Mutant(OPTIM, "theta -= self.lr * g\n", "theta += self.lr * g\n", T_OPTIM,
           "SGD ascends"),
    Mutant(OPTIM, "v *= self.momentum\n", "v *= 0.0\n", T_OPTIM, "SGD momentum forgotten"),
    Mutant(OPTIM, "denominator = np.sqrt(v)\n        denominator += self.eps\n",
           "denominator = v.copy()\n        denominator += self.eps\n", T_OPTIM,
           "RMSprop without sqrt"),
    Mutant(OPTIM, "return float(np.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in params",
           "return float((sum(float(np.vdot(p.grad, p.grad)) for p in params", T_OPTIM,
           "grad norm without sqrt"),
    Mutant(OPTIM, "return float(np.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in params",
           "return float(np.sqrt(max(float(np.vdot(p.grad, p.grad)) for p in params", T_OPTIM,
           "grad norm of the largest gradient, not of all together"),
    Mutant(DQN, "norm = optim.grad_norm(self.optimizer.params)",
           "norm = 0.0", T_DQN, "DQN reports no gradient norm when it does not clip"),
    Mutant(DQN, "return {\"loss\": float(loss.data), \"grad_norm\": norm}",
           "return {\"loss\": float(loss.data), \"grad_norm\": optim.grad_norm(self.optimizer.params)}",
           T_DQN, "DQN reports the gradient norm after clipping"),
    Mutant(OPTIM, "if total > max_norm:", "if total < max_norm:", T_OPTIM,
           "clipping the small gradients"),
    Mutant(OPTIM, "self.update(self.flat.data, g, *statistics)",
           "self.update(self.flat.data, g, *[s.copy() for s in statistics])", T_OPTIM,
           "the one-array step forgets its statistics"),
    Mutant(OPTIM, "self.update(p.data, p.grad, *[s[k] for s in per_parameter])",
           "self.update(p.data, p.grad, *[s[k].copy() for s in per_parameter])", T_OPTIM,
           "one parameter at a time, the statistics are not kept"),
    Mutant(OPTIM, "s[np.abs(s) < np.finfo(s.dtype).tiny] = 0", "s[s < np.finfo(s.dtype).tiny] = 0",
           T_OPTIM, "flushing zeroes every negative moment"),
    Mutant(OPTIM, "if self.t % 100 == 0:  # often enough", "if self.t % 100 == 1:  # often enough", T_OPTIM,
           "Adam never flushes its subnormal moments on the 100th step"),
    Mutant(OPTIM, "        if self.t % 100 == 0:  # as Adam: often enough, at 1% of the cost of every step\n            flush_to_zero(self.v)\n",
           "", T_OPTIM, "RMSprop keeps subnormal statistics"),
    Mutant(OPTIM, "if key not in state and key not in self.counters_added_later:",
           "if key not in state:", T_OPTIM, "an RMSprop checkpoint from before t is refused"),
    Mutant(OPTIM, "state.get(name, np.array(0))", "state.get(name, np.array(100))", T_OPTIM,
           "an old RMSprop checkpoint loads with the wrong step count"),
    Mutant(OPTIM, "        self.t += 1\n        super().step()\n", "        super().step()\n",
           T_OPTIM, "RMSprop never counts its steps (so never flushes)"),
    Mutant(OPTIM, "return [(flat_t.data, flat_s.data)]", "return [(flat_s.data, flat_t.data)]",
           T_OPTIM, "a laid-out target network is copied into the online one"),
    # --- engine: the flat layout (flat.py) ---------------------------------------------------
    Mutant(FLAT, "            if p.grad is None or p.data is not view:\n",
           "            if p.grad is None:\n", T_LAYERS + T_OPTIM,
           "a parameter given a new array is still stepped through the buffer"),
    Mutant(FLAT, "    start = sum(v.size for v in layout.views[:i])", "    start = 0",
           T_LAYERS + T_OPTIM, "a network inside a larger layout is read from its start"),
    Mutant(FLAT, "np.zeros(p.data.size, self.data.dtype) if p.grad is None",
           "np.ones(p.data.size, self.data.dtype) if p.grad is None", T_LAYERS + T_A3C,
           "A3C sends ones for a parameter without a gradient"),
    Mutant(FLAT, "            p.data = view\n", "            p.data = view.copy()\n",
           T_LAYERS + T_OPTIM, "bind copies: the network does not read the shared array"),
    Mutant(FLAT, "    if layout.params[i:j] != params or not layout.intact():",
           "    if layout.params[i:j] != params:", T_LAYERS + T_OPTIM,
           "a layout some parameter left is still found as one array"),
    Mutant(LAYERS, "p.data[...] = values[name]  # in place", "p.data = values[name].copy()  # in place",
           T_LAYERS + T_OPTIM, "loading a state dict takes the parameters out of their layout"),
    Mutant(OPTIM, "t *= 1 - tau\n        t += tau * s",
           "t *= tau\n        t += (1 - tau) * s", T_OPTIM,
           "Polyak averaging with tau swapped"),
    # --- after the book: PPO ----------------------------------------------------------------
    Mutant(PPO, "ratio = F.exp(log_prob - old_log_prob)", "ratio = F.exp(old_log_prob - log_prob)",
           T_PPO, "ratio pi_old / pi_theta"),
    Mutant(PPO, "clipped = F.clip(ratio, 1.0 - clip_coef, 1.0 + clip_coef) * advantages",
           "clipped = F.clip(ratio, 1.0 - clip_coef, 1.0 + clip_coef)", T_PPO,
           "clipped term without the advantage"),
    Mutant(PPO, "return F.mean(F.minimum(unclipped, clipped))",
           "return F.mean(F.maximum(unclipped, clipped))", T_PPO,
           "max instead of min: the pessimistic bound lost"),
    Mutant(PPO, "return F.mean(F.minimum(unclipped, clipped))",
           "return F.mean(clipped)", T_PPO, "only the clipped term"),
    Mutant(PPO, "clipped_values = old_values + F.clip(values - old_values, -clip_coef, clip_coef)",
           "clipped_values = values + F.clip(values - old_values, -clip_coef, clip_coef)", T_PPO,
           "value clip around the new value"),
    Mutant(PPO, "return 0.5 * F.mean(F.maximum(unclipped, clipped))",
           "return 0.5 * F.mean(F.minimum(unclipped, clipped))", T_PPO,
           "clipped value loss takes the min"),
    Mutant(PPO, "                self.optimizer.zero_grad()\n", "",
           ("tests/test_ppo.py::test_each_minibatch_step_is_adam_on_its_own_gradient",),
           "gradients not zeroed between minibatches"),
    Mutant(PPO, "std = np.exp(self.log_std.data)", "std = self.log_std.data", T_PPO,
           "Gaussian sampled with log sigma as sigma"),
    Mutant(PPO, "return gym.wrappers.ClipAction(env) if self.continuous else env", "return env",
           T_PPO, "Box actions reach the env unclipped"),
    Mutant(PPO, "actions = self.policy.sample(self.features(self.encode.batch(obs_batch)), "
           "self.rng)", "actions = np.clip(self.policy.sample(self.features(self.encode.batch("
           "obs_batch)), self.rng), -1, 1)", T_PPO, "the agent learns from a clipped action"),
    # the registry (agents/__init__.py)
    Mutant("minirl/agents/__init__.py",
           "widths = [max(len(row[i]) for row in rows) for i in range(4)]",
           "widths = [20, 4, 9, 13]", ("tests/test_registry.py",),
           "minirl algos: fixed column widths misalign 'after the book'"),
    Mutant("minirl/agents/__init__.py",
           "fixed, preset = algo.fixed, algo.preset if preset is None else preset",
           "fixed, preset = algo.fixed, preset", ("tests/test_registry.py",),
           "a name's preset dropped"),
    # F.minimum / F.maximum (functions.py)
    Mutant(FUNCS, "share = np.where(tie, gy * 0.5, gy)", "share = gy", T_MINMAX,
           "a tie gives each input all of gy"),
    Mutant(FUNCS, "return _to_the_chosen(gy, x0 > x1, x1 > x0, x0 == x1)",
           "return _to_the_chosen(gy, x0 < x1, x1 < x0, x0 == x1)", T_MINMAX,
           "minimum's gradient to the larger input"),
    Mutant(FUNCS, "return _to_the_chosen(gy, x0 < x1, x1 < x0, x0 == x1)",
           "return _to_the_chosen(gy, x0 < x1, x1 < x0, x0 != x0)", T_MINMAX,
           "maximum's ties not split"),
    Mutant(FUNCS, "        return np.minimum(x0, x1)", "        return np.fmin(x0, x1)", T_MINMAX,
           "minimum drops NaN (fmin), PyTorch propagates it"),
    Mutant(PPO, "return float(np.mean(np.expm1(log_ratio) - log_ratio))",
           "return float(np.mean(-log_ratio))", T_PPO, "approx KL as the k1 estimator"),
    Mutant(PPO, "return (advantages - advantages.mean()) / (advantages.std() + 1e-8)",
           "return advantages / (advantages.std() + 1e-8)", T_PPO,
           "advantages scaled but not centred"),
    Mutant(PPO, "loss = -surrogate + h[\"value_coef\"] * v_loss - h[\"entropy_coef\"] * entropy",
           "loss = -surrogate + h[\"value_coef\"] * v_loss + h[\"entropy_coef\"] * entropy",
           T_PPO, "entropy penalised instead of rewarded"),
    Mutant(PPO, "loss = -surrogate + h[\"value_coef\"] * v_loss - h[\"entropy_coef\"] * entropy",
           "loss = surrogate + h[\"value_coef\"] * v_loss - h[\"entropy_coef\"] * entropy",
           T_PPO, "surrogate minimised"),
    # --- after the book: TD3 -----------------------------------------------------------------
    Mutant(TD3, "return np.clip(next_action + np.clip(noise, -noise_clip, noise_clip), low, high)",
           "return np.clip(next_action + noise, low, high)", T_TD3, "smoothing noise not clipped"),
    Mutant(TD3, "return np.clip(next_action + np.clip(noise, -noise_clip, noise_clip), low, high)",
           "return next_action + np.clip(noise, -noise_clip, noise_clip)", T_TD3,
           "smoothed action not clipped to the bounds"),
    Mutant(TD3, "return bootstrapped_target(reward, np.minimum(next_q1, next_q2), terminated, gamma)",
           "return bootstrapped_target(reward, np.maximum(next_q1, next_q2), terminated, gamma)",
           T_TD3, "max of the twin critics"),
    Mutant(TD3, "return bootstrapped_target(reward, np.minimum(next_q1, next_q2), terminated, gamma)",
           "return bootstrapped_target(reward, next_q1, terminated, gamma)", T_TD3,
           "one critic only"),
    Mutant(TD3, "if self.updates % self.policy_delay == 0:",
           "if True:", T_TD3, "actor not delayed"),
    Mutant(TD3, "q2 = self.critic2_target(batch.next_obs, smoothed).data[:, 0]",
           "q2 = self.critic2(batch.next_obs, smoothed).data[:, 0]", T_TD3,
           "second target from the online critic"),
    Mutant(TD3, "q1 = self.critic_target(batch.next_obs, smoothed).data[:, 0]",
           "q1 = self.critic(batch.next_obs, smoothed).data[:, 0]", T_TD3,
           "first target from the online critic"),
    Mutant(TD3, "q1 = self.critic_target(batch.next_obs, smoothed).data[:, 0]",
           "q1 = self.critic_target(batch.obs, smoothed).data[:, 0]", T_TD3,
           "first target critic at s, not s'"),
    Mutant(TD3, "next_action = self.actor_target(batch.next_obs).data",
           "next_action = self.actor(batch.next_obs).data", T_TD3,
           "smoothed target action from the online actor"),
    Mutant(TD3, "self.target_sigma = h[\"target_noise\"] * half_range",
           "self.target_sigma = h[\"target_noise\"]", T_TD3,
           "smoothing sigma absolute, not relative to the half-range"),
    Mutant(TD3, "batch = self.remember(obs, action, reward, next_obs, terminated)",
           "batch = self.remember(obs, action, reward, next_obs, terminated or truncated)",
           T_TD3, "TD3 stores a truncated step as terminal"),
    Mutant(TD3, "if terminated or truncated:", "if terminated:", T_TD3,
           "OU noise carried over a truncation into the next episode"),
    Mutant(TD3, "return super().targets() + [(self.critic2_target, self.critic2)]",
           "return super().targets() + [(self.critic2_target, self.critic)]", T_TD3,
           "Q'_2 Polyak-averaged toward Q_1"),
    Mutant(OFFPOLICY, "optim.soft_update(target, network, self.tau)",
           "optim.soft_update(network, target, self.tau)", T_TD3,
           "Polyak update moves the networks towards their targets (TD3's tests)"),
    Mutant(OFFPOLICY, "loss = sum(losses[1:], start=losses[0])", "loss = losses[0]", T_TD3,
           "the second critic never learns (TD3's tests)"),
    Mutant(TD3, "            self.actor_loss = self.update_actor(batch.obs)\n"
                "            self.update_targets()\n",
           "            self.actor_loss = self.update_actor(batch.obs)\n"
           "        self.update_targets()\n", T_TD3, "targets not delayed with the actor"),
    Mutant(TD3, "self.actor_loss = self.update_actor(batch.obs)",
           "self.actor_loss = self.update_actor(batch.next_obs)", T_TD3,
           "delayed actor trained on next_obs"),
    Mutant(TD3, "        critic_loss = self.update_critics(batch, y)\n"
                "        self.updates += 1\n"
                "        if self.updates % self.policy_delay == 0:  # delayed policy updates (Sec. 5.2)\n"
                "            self.actor_loss = self.update_actor(batch.obs)\n"
                "            self.update_targets()\n",
           "        self.updates += 1\n"
           "        if self.updates % self.policy_delay == 0:  # delayed policy updates (Sec. 5.2)\n"
           "            self.actor_loss = self.update_actor(batch.obs)\n"
           "            self.update_targets()\n"
           "        critic_loss = self.update_critics(batch, y)\n", T_TD3,
           "actor and targets step before the critics' step"),
    Mutant(DDPG, "if explore and self.steps < self.learning_starts:",
           "if self.steps < self.learning_starts:", T_TD3,
           "greedy action random during the warm-up (TD3's tests)"),
    # --- after the book: SAC -----------------------------------------------------------------
    Mutant(SAC, "return 2.0 * (LOG_2 - abs_u - F.log(1.0 + F.exp(-2.0 * abs_u)))",
           "return 2.0 * (LOG_2 - abs_u + F.log(1.0 + F.exp(-2.0 * abs_u)))", T_SAC,
           "log(1 - tanh^2) with a wrong sign"),
    Mutant(SAC, "return (gaussian_log_prob(u, mean, log_std) - F.sum(log1m_tanh_sq(u), axis=-1)",
           "return (gaussian_log_prob(u, mean, log_std) + F.sum(log1m_tanh_sq(u), axis=-1)",
           T_SAC, "change of variables added instead of subtracted"),
    Mutant(SAC, "            - float(np.sum(np.log(half_range))))", "            )", T_SAC,
           "the affine scaling's Jacobian dropped"),
    Mutant(SAC, "soft_value = np.minimum(next_q1, next_q2) - alpha * next_log_prob",
           "soft_value = np.minimum(next_q1, next_q2) + alpha * next_log_prob", T_SAC,
           "entropy bonus with the wrong sign"),
    Mutant(SAC, "soft_value = np.minimum(next_q1, next_q2) - alpha * next_log_prob",
           "soft_value = np.maximum(next_q1, next_q2) - alpha * next_log_prob", T_SAC,
           "max of the twin target critics"),
    Mutant(SAC, "return F.mean(alpha * log_prob - F.minimum(q1, q2))",
           "return F.mean(alpha * log_prob - q1)", T_SAC, "actor loss on one critic"),
    Mutant(SAC, "return F.mean(alpha * log_prob - F.minimum(q1, q2))",
           "return F.mean(-alpha * log_prob - F.minimum(q1, q2))", T_SAC,
           "actor rewarded for low entropy"),
    Mutant(SAC, "return -F.mean(F.exp(log_alpha) * (np.asarray(log_prob) + target_entropy))",
           "return -F.mean(F.exp(log_alpha) * (np.asarray(log_prob) - target_entropy))", T_SAC,
           "temperature against minus the target entropy"),
    Mutant(SAC, "u = mean + F.exp(log_std) * xi", "u = mean + log_std * xi", T_SAC,
           "log sigma used as sigma"),
    Mutant(SAC, "batch = self.remember(obs, action, reward, next_obs, terminated)",
           "batch = self.remember(obs, action, reward, next_obs, terminated or truncated)",
           T_SAC, "SAC stores a truncated step as terminal"),
    Mutant(SAC, "return [(self.critic1_target, self.critic1), (self.critic2_target, self.critic2)]",
           "return [(self.critic1_target, self.critic1), (self.critic2_target, self.critic1)]",
           T_SAC, "Q'_2 Polyak-averaged toward Q_1"),
    Mutant(OFFPOLICY, "optim.soft_update(target, network, self.tau)",
           "optim.soft_update(network, target, self.tau)", T_SAC,
           "Polyak update with its arguments swapped (SAC's tests)"),
    Mutant(OFFPOLICY, "loss = sum(losses[1:], start=losses[0])", "loss = losses[0]", T_SAC,
           "the second critic never learns (SAC's tests)"),
    Mutant(SAC, "action = scale_action(np.tanh(mean.data[0]), self.low, self.high)",
           "action = scale_action(mean.data[0], self.low, self.high)", T_SAC,
           "greedy action skips the tanh"),
    Mutant(SAC, "            if explore:\n                action = self.sample(x)[0].data[0]",
           "            if True:\n                action = self.sample(x)[0].data[0]", T_SAC,
           "greedy action sampled"),
    Mutant(SAC, "if explore and self.steps < self.learning_starts:",
           "if self.steps < self.learning_starts:", T_SAC,
           "greedy action random during the warm-up"),
    Mutant(SAC, "q1 = self.critic1_target(batch.next_obs, next_action).data[:, 0]",
           "q1 = self.critic1(batch.next_obs, next_action).data[:, 0]", T_SAC,
           "soft target from the online first critic"),
    Mutant(SAC, "q2 = self.critic2_target(batch.next_obs, next_action).data[:, 0]",
           "q2 = self.critic2(batch.next_obs, next_action).data[:, 0]", T_SAC,
           "soft target from the online second critic"),
    Mutant(SAC, "next_action, next_log_prob = self.sample(batch.next_obs)",
           "next_action, next_log_prob = self.sample(batch.obs)", T_SAC,
           "a' drawn at s, not s'"),
    Mutant(SAC, "q1 = F.reshape(self.critic1(obs, action), (len(obs),))",
           "q1 = F.reshape(self.critic1_target(obs, action), (len(obs),))", T_SAC,
           "actor loss through a target critic"),
    Mutant(SAC, "actor_loss, log_prob = self.update_actor(batch.obs)",
           "actor_loss, log_prob = self.update_actor(batch.next_obs)", T_SAC,
           "actor trained on next_obs"),
    Mutant(SAC, "        stats = {\"critic_loss\": self.update_critics(batch, y)}\n"
                "        actor_loss, log_prob = self.update_actor(batch.obs)\n",
           "        actor_loss, log_prob = self.update_actor(batch.obs)\n"
           "        stats = {\"critic_loss\": self.update_critics(batch, y)}\n", T_SAC,
           "actor steps on the critics before the critics' step"),
    Mutant(SAC, "        stats[\"alpha\"] = self.temperature.alpha\n        self.update_targets()\n",
           "        stats[\"alpha\"] = self.temperature.alpha\n", T_SAC,
           "targets never updated"),
    Mutant(SAC, "        stats = {\"critic_loss\": self.update_critics(batch, y)}\n"
                "        actor_loss, log_prob = self.update_actor(batch.obs)\n"
                "        stats.update(actor_loss=actor_loss, entropy=-float(np.mean(log_prob)))\n"
                "        if self.autotune:\n"
                "            stats[\"alpha_loss\"] = self.update_temperature(log_prob)\n"
                "        stats[\"alpha\"] = self.temperature.alpha\n"
                "        self.update_targets()\n",
           "        self.update_targets()\n"
           "        stats = {\"critic_loss\": self.update_critics(batch, y)}\n"
           "        actor_loss, log_prob = self.update_actor(batch.obs)\n"
           "        stats.update(actor_loss=actor_loss, entropy=-float(np.mean(log_prob)))\n"
           "        if self.autotune:\n"
           "            stats[\"alpha_loss\"] = self.update_temperature(log_prob)\n"
           "        stats[\"alpha\"] = self.temperature.alpha\n", T_SAC,
           "targets averaged before the critics' step"),
    # --- layer normalisation and the DQN head that uses it ------------------------------------
    Mutant(FUNCS, "d = x - x.mean(axis=-1, keepdims=True)",
           "d = x - x.mean(axis=0, keepdims=True)", T_FUN, "layer norm over the batch axis"),
    Mutant(FUNCS, "self.s = 1 / np.sqrt((d * d).mean(axis=-1, keepdims=True) + self.eps)",
           "self.s = 1 / (np.sqrt((d * d).mean(axis=-1, keepdims=True)) + self.eps)", T_FUN,
           "layer norm: eps outside the square root"),
    Mutant(FUNCS, "return self.s * (gy - gy.mean(axis=-1, keepdims=True)\n",
           "return self.s * (gy\n", T_FUN, "layer norm backward without the mean's term"),
    Mutant(FUNCS, "- y * (gy * y).mean(axis=-1, keepdims=True))",
           "- (gy * y).mean(axis=-1, keepdims=True))", T_FUN,
           "layer norm backward: the variance's term without y"),
    Mutant(DQN, "x = F.relu(F.layer_norm(x) if self.layer_norm else x)",
           "x = F.layer_norm(F.relu(x)) if self.layer_norm else F.relu(x)", T_DQN,
           "layer norm after the relu"),
    Mutant(DQN, "layer_norm=h[\"layer_norm\"], torso", "layer_norm=False, torso", T_DQN + ("tests/test_train.py",),
           "layer_norm hyperparameter ignored"),
    Mutant("minirl/agents/__init__.py",
           "hparams = {**{k: v for k, v in cls.defaults.items() if k not in config[\"hparams\"]},",
           "hparams = {**{},", ("tests/test_train.py",),
           "an old checkpoint takes a new preset value"),
    Mutant("minirl/agents/__init__.py", "preset=preset, name=name,\n               **{**fixed",
           "preset=preset,\n               **{**fixed", ("tests/test_train.py",),
           "make_agent: the registered name not passed"),
    Mutant("minirl/agents/__init__.py", "preset=config.get(\"preset\"), name=name,",
           "preset=config.get(\"preset\"),", ("tests/test_train.py",),
           "agent_from_config: the registered name not passed"),
    Mutant("minirl/agents/base.py", "        if name is not None:  # the registered name",
           "        if False:  # the registered name", ("tests/test_train.py",),
           "the registered name ignored"),
    Mutant("minirl/agents/base.py", "        name = name or cls.name\n        if not isinstance",
           "        name = cls.name\n        if not isinstance", ("tests/test_train.py",),
           "check_spaces names the class"),
    Mutant("minirl/agents/base.py", "        name = name or cls.name\n        if preset",
           "        name = cls.name\n        if preset", ("tests/test_train.py",),
           "resolve_hparams names the class"),
    # --- the hyperparameter spec -------------------------------------------------------------
    Mutant(HPARAMS, "above = value > low if low_open else value >= low",
           "above = value >= low", T_HPARAMS, "open lower bound admits its end"),
    Mutant(HPARAMS, "below = value < high if high_open else value <= high",
           "below = value < high", T_HPARAMS, "closed upper bound refuses its end"),
    Mutant(HPARAMS, "and math.isfinite(value)):", "):", T_HPARAMS, "NaN accepted as a number"),
    # --- loading a checkpoint, the run directory, saving the replay buffer ----------------
    Mutant(CKPT, "    if colon:\n", "    if False:\n",
           (f"{T_SEC}::test_env_ids_from_files_must_be_registered_and_plain",),
           "an env id from a file may import its module"),
    Mutant(CKPT, "    if env_id not in registry:", "    if False:",
           (f"{T_SEC}::test_env_ids_from_files_must_be_registered_and_plain",),
           "an unregistered env id from a file is used"),
    Mutant(CKPT, "    if info.file_size != declared:", "    if info.file_size < declared:",
           (f"{T_SEC}::test_bombs_and_absurd_configs_are_refused_under_a_memory_ceiling",),
           "a member larger in the zip directory than its header declares is read"),
    Mutant(CKPT, "rows = max(want_shape[0], _rows_bound(config)) if want_shape else 0",
           "rows = 2**62 if want_shape else 0",
           (f"{T_SEC}::test_bombs_and_absurd_configs_are_refused_under_a_memory_ceiling",),
           "a growing array's rows not bounded by the configuration"),
    Mutant(CKPT, "    if depth > MAX_JSON_DEPTH:", "    if depth > 10**9:",
           (f"{T_SEC}::test_deeply_nested_json_is_refused_without_recursion",),
           "JSON depth not bounded"),
    Mutant(CKPT, "    _check_memory(config, where)\n", "\n",
           (f"{T_SEC}::test_bombs_and_absurd_configs_are_refused_under_a_memory_ceiling",),
           "a configuration's memory needs not checked before building it"),
    Mutant(CKPT, "    if not stat.S_ISREG(info.st_mode):", "    if stat.S_ISDIR(info.st_mode):",
           (f"{T_SEC}::test_a_fifo_named_checkpoint_npz_is_refused_at_once",),
           "a FIFO is opened as a checkpoint"),
    Mutant(CKPT, "    if dtype.hasobject or dtype.kind not in _KINDS:", "    if False:",
           (f"{T_SEC}::test_foreign_files_are_named_for_what_they_are",),
           "object arrays not refused by their header"),
    Mutant(CKPT, "        return None if nbytes <= MAX_UNKNOWN_BYTES else \\",
           "        return None if True else \\",
           (f"{T_SEC}::test_foreign_files_are_named_for_what_they_are",),
           "an unknown agent array of any size accepted"),
    Mutant(CKPT, "        return None if nbytes <= limit else", "        return None if True else",
           (f"{T_SEC}::test_the_loops_records_are_bounded_by_the_steps_of_the_run",),
           "the loop's arrays not bounded by the run's steps"),
    Mutant(RUNDIR, "        if files and MARKER not in files:", "        if False:",
           (f"{T_SEC}::test_force_refuses_a_directory_minirl_did_not_mark_and_deletes_nothing",),
           "--force deletes a directory minirl did not mark"),
    Mutant(RUNDIR, "            if TEMPORARY.fullmatch(name):", "            if False:",
           (f"{T_SEC}::test_a_killed_save_leaves_temporary_files_that_the_next_start_removes",),
           "a killed save's temporary files never removed"),
    Mutant(RUNDIR, "                os.remove(os.path.join(self.path, name))\n        self.mark()",
           "                os.remove(os.path.join(self.path, name))",
           (f"{T_SEC}::test_force_clears_a_marked_run_but_never_a_file_beside_it",),
           "a fresh run not marked as minirl's"),
    Mutant(REPLAY, "state = {name: getattr(self, name)[:self.size].copy()",
           "state = {name: getattr(self, name).copy()",
           ("tests/test_replay.py::test_state_dict_saves_the_filled_rows_not_the_capacity",),
           "the replay buffer saved at full capacity"),
    Mutant(REPLAY, "getattr(self, name)[:size] = np.asarray(state[name])[:size]",
           "getattr(self, name)[:size - 1] = np.asarray(state[name])[:size - 1]",
           ("tests/test_replay.py",), "the last saved transition not restored"),
    Mutant(REPLAY, "self.sum_tree[np.arange(self.size)].copy()",
           "self.sum_tree[np.arange(self.capacity)].copy()",
           ("tests/test_replay.py::test_prioritized_state_dict_saves_the_filled_priorities",),
           "priorities saved at full capacity"),
    Mutant(REPLAY, "        if capacity != self.capacity:", "        if False:",
           ("tests/test_replay.py::test_load_state_dict_rejects_a_different_shape",),
           "a buffer loads a state saved with another capacity"),
    Mutant(CLI, "        os.environ.setdefault(\"SDL_VIDEODRIVER\", \"dummy\")", "        pass",
           (f"{T_SEC}::test_a_gif_of_cartpole_prints_nothing_but_what_it_wrote",),
           "--gif starts a video driver (XDG_RUNTIME_DIR noise)"),
    Mutant(CLI, "limit = max(2, GIF_MEMORY // _scaled(first).nbytes)", "limit = 100_001",
           (f"{T_SEC}::test_gif_of_an_endless_episode_with_huge_frames_is_cut_within_memory",),
           "--gif keeps every frame of an endless episode"),
    Mutant(CLI, "    if not 0 <= args.seed <=", "    if not -9 <= args.seed <=",
           (f"{T_SEC}::test_every_plot_and_eval_argument_is_checked_before_work",),
           "eval --seed -1 accepted"),
    Mutant(CLI, "    _check_spaces(config, env, env_id, where)\n", "\n",
           (f"{T_SEC}::test_eval_on_an_env_with_other_spaces_names_both",),
           "eval --env with other spaces not checked"),
    # --- statistics over seeds (stats.py, Agarwal et al. 2021) --------------------------------
    Mutant("minirl/stats.py", "cut = int(0.25 * n)", "cut = int(0.2 * n)", T_STATS,
           "IQM trims a fifth, not a quarter"),
    Mutant("minirl/stats.py", "return float(values[cut:n - cut].mean())",
           "return float(values[cut:n - cut + 1].mean())", T_STATS,
           "IQM keeps one score of the top quarter"),
    Mutant("minirl/stats.py",
           "replicates[r] = statistic(np.take_along_axis(scores, rows, axis=0))",
           "replicates[r] = statistic(rng.choice(scores.ravel(), size=scores.shape))",
           T_STATS, "bootstrap pools the tasks' runs (not stratified)"),
    Mutant("minirl/stats.py", "rows = rng.integers(runs, size=(runs, tasks))",
           "rows = np.argsort(rng.random((runs, tasks)), axis=0)", T_STATS,
           "bootstrap resamples without replacement"),
    Mutant("minirl/stats.py", "[100 * alpha, 100 * (1 - alpha)]", "[alpha, 1 - alpha]",
           T_STATS, "interval from the wrong percentiles"),
    Mutant("minirl/stats.py", "(scores > tau).mean()", "(scores >= tau).mean()", T_STATS,
           "performance profile counts ties"),
    Mutant("minirl/tune.py", "else float(np.mean(values))", "else float(np.median(values))",
           T_TUNE, "tuning objective the median, not the mean"),
    # --- pixels: convolution, the conv torso, frames in replay --------------------------------
    Mutant(NOGRAD, "return _constant(forward(_array(x), _array(W), b, stride, pad)[0])",
           "return _constant(forward(_array(x), _array(W), None, stride, pad)[0])",
           ("tests/test_conv.py",), "conv2d without a graph drops the bias"),
    Mutant(FUNCS, "(s0, s2 * sh, s3 * sw, s2, s3, s1)", "(s0, s2, s3 * sw, s2, s3, s1)",
           ("tests/test_conv.py",), "im2col ignores the vertical stride"),
    Mutant(FUNCS, "return (size + 2 * pad - kernel) // stride + 1",
           "return (size + pad - kernel) // stride + 1", ("tests/test_conv.py",),
           "output size with the padding counted once"),
    Mutant(FUNCS, "x[:, :, u:u + sh * oh:sh, v:v + sw * ow:sw] += col",
           "x[:, :, u:u + sh * oh:sh, v:v + sw * ow:sw] = col", ("tests/test_conv.py",),
           "col2im overwrites where patches overlap instead of adding"),
    Mutant(FUNCS, "return x[:, :, ph:ph + H, pw:pw + W]", "return x[:, :, :H, :W]",
           ("tests/test_conv.py",), "col2im crops the wrong corner of the padding"),
    Mutant(FUNCS, "y = y.reshape(len(x), oh, ow, len(W)).transpose(0, 3, 1, 2)",
           "y = y.reshape(len(x), oh, ow, len(W)).transpose(0, 3, 2, 1)",
           ("tests/test_conv.py",), "conv output with rows and columns swapped"),
    Mutant(FUNCS, "gb = gy.sum(axis=(0, 2, 3))", "gb = gy.sum(axis=(0, 2, 3)) / len(gy)",
           ("tests/test_conv.py",), "conv bias gradient averaged over the batch"),
    Mutant(FUNCS, "gx = col2im(gY @ filters_as_rows(W), x.shape",
           "gx = col2im(gY @ np.abs(filters_as_rows(W)), x.shape",
           ("tests/test_conv.py",), "conv input gradient through |W|"),
    Mutant(FUNCS, "gy.transpose(0, 2, 3, 1).reshape(-1, len(W))",
           "gy.transpose(0, 3, 2, 1).reshape(-1, len(W))", ("tests/test_conv.py",),
           "conv backward reads gy with rows and columns swapped"),
    Mutant(FUNCS, "return W.transpose(0, 2, 3, 1).reshape(len(W), -1)",
           "return W.reshape(len(W), -1)", ("tests/test_conv.py",),
           "filters read channel by channel against channels-last patches"),
    Mutant(FUNCS, "gW = (gY.T @ self.col).reshape(out, kh, kw, C).transpose(0, 3, 1, 2)",
           "gW = (gY.T @ self.col).reshape(out, C, kh, kw)", ("tests/test_conv.py",),
           "conv weight gradient read back in the wrong order"),
    Mutant(FUNCS, "col = col.reshape(N, oh, ow, kh, kw, C)", "col = col.reshape(N, oh, ow, C, kh, kw)",
           ("tests/test_conv.py",), "col2im reads rows channel by channel"),
    Mutant(LAYERS, "bound = 1.0 / np.sqrt(in_channels * kh * kw)",
           "bound = 1.0 / np.sqrt(in_channels)", ("tests/test_conv.py",),
           "Conv2d init ignores the kernel's size in fan_in"),
    Mutant("minirl/agents/torso.py", "if a < c and a < b:", "if a <= c and a < b:",
           ("tests/test_pixels.py",), "a tie read as channels first"),
    Mutant("minirl/agents/torso.py", "x = x.transpose(0, 3, 1, 2)  # (N, H, W, C)",
           "x = x.reshape(-1, *self.image_shape[::-1])  # (N, H, W, C)",
           ("tests/test_pixels.py",), "channels-last frames reshaped, not transposed"),
    Mutant("minirl/agents/torso.py", "scale = 1 / 255 if observation_space.dtype == np.uint8 else None",
           "scale = None", ("tests/test_pixels.py",), "uint8 pixels fed unscaled (0-255)"),
    Mutant("minirl/agents/torso.py", "x = x * np.float32(self.scale)", "x = x",
           ("tests/test_pixels.py",), "the torso ignores its pixel scale"),
    Mutant("minirl/agents/torso.py", "        return observation_space.dtype\n",
           "        return np.float32\n", ("tests/test_pixels.py",),
           "bool frames stored as float32"),
    Mutant(REPLAY, "obs = obs.astype(self.batch_dtype, copy=False)", "obs = obs",
           ("tests/test_pixels.py", "tests/test_replay.py"),
           "the minibatch's frames not converted"),
    Mutant("minirl/envcheck.py", 'return {"f": "fiu", "b": "b"}',
           'return {"f": "fiu", "b": "bf"}', ("tests/test_pixels.py",),
           "a bool space admits float observations"),
    Mutant(DQN, "alpha=0.95, eps=0.01))", "alpha=0.99, eps=0.01))", ("tests/test_pixels.py",),
           "MinAtar's RMSprop with PyTorch's default alpha"),
    Mutant(DQN, "layer_norm=h[\"layer_norm\"], torso=torso)", "layer_norm=h[\"layer_norm\"])",
           ("tests/test_pixels.py",), "image observations without the conv torso"),
    # --- pixels: PPO and A2C, one torso for the policy and the value head --------------------
    Mutant(PPO, 'minibatch = {**minibatch, "obs": self.torso(minibatch["obs"])}',
           'minibatch = {**minibatch, "obs": self.torso(minibatch["obs"]).data}', T_PIXPOL,
           "PPO's loss detached from the torso"),
    Mutant(PPO, 'v_loss = value_loss(critic(batch["obs"]), batch["values"]',
           'v_loss = value_loss(critic(np.asarray(batch["obs"].data)), batch["values"]',
           T_PIXPOL, "PPO's value head reads the torso's features detached"),
    Mutant(PPO, 'log_prob, entropy = policy.log_prob_entropy(batch["obs"], batch["actions"])',
           'log_prob, entropy = policy.log_prob_entropy(np.asarray(batch["obs"].data), '
           'batch["actions"])', T_PIXPOL, "PPO's policy reads the torso's features detached"),
    Mutant(PPO, "torso = [] if self.torso is None else self.torso.parameters()",
           "torso = []", T_PIXPOL, "PPO's torso left out of the optimizer"),
    Mutant(PPO, 'torso = {} if self.torso is None else {"torso": self.torso}', "torso = {}",
           T_PIXPOL, "PPO's torso left out of the checkpoint"),
    Mutant(PPO, "torso, size = encoder_for(self.observation_space, self.rng)",
           "torso, size = None, self.encode.size", T_PIXPOL,
           "PPO on images without the conv torso"),
    Mutant(A2C, "return self._run(self.shared, x if self.torso is None else self.torso(x))",
           "return self._run(self.shared, x if self.torso is None else self.torso(x).data)",
           T_PIXPOL, "A2C's torso detached from both heads"),
    Mutant(A2C, "return logits, F.reshape(self.v(self._run(self.critic, h)), (len(x),))",
           "return logits, F.reshape(self.v(self._run(self.critic, np.asarray(h.data))), "
           "(len(x),))", T_PIXPOL, "A2C's value head detached from the torso"),
    Mutant(A2C, "logits = self.pi(self._run(self.actor, h))",
           "logits = self.pi(self._run(self.actor, np.asarray(h.data)))", T_PIXPOL,
           "A2C's policy head detached from the torso"),
    Mutant(A2C, "torso, size = encoder_for(self.observation_space, self.rng)",
           "torso, size = None, self.encode.size", T_PIXPOL,
           "A2C on images without the conv torso"),
]


def mutant_id(index):
    return f"M{index:03d}"


def select(catalogue, pattern):
    """Entries whose id, file, snippets or description match ``pattern`` (a regex)."""
    if not pattern:
        return list(enumerate(catalogue))
    rx = re.compile(pattern, re.IGNORECASE)
    return [(i, m) for i, m in enumerate(catalogue)
            if rx.search(" ".join((mutant_id(i), m.file, m.why, m.original)))]


def apply_to_text(text, m):
    """The mutated text, or None when the snippet is missing or ambiguous."""
    if text.count(m.original) != 1:
        return None
    return text.replace(m.original, m.mutant)


def copy_tree(root, dest):
    """The parts of the repository a test run needs: the package, the tests, config."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
    shutil.copytree(root / "minirl", dest / "minirl", ignore=ignore)
    shutil.copytree(root / "tests", dest / "tests", ignore=ignore)
    for name in ("setup.cfg", "pyproject.toml"):
        if (root / name).exists():
            shutil.copy2(root / name, dest / name)


def child_env(copy_dir):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy_dir)  # the copy, never the installed checkout
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    return env


def check_imports_copy(copy_dir):
    """Fail loudly if ``import minirl`` in the copy would load another checkout."""
    out = subprocess.run([sys.executable, "-c", "import minirl; print(minirl.__file__)"],
                         cwd=copy_dir, env=child_env(copy_dir), capture_output=True,
                         text=True, timeout=120)
    path = Path(out.stdout.strip() or "?").resolve()
    if not str(path).startswith(str(Path(copy_dir).resolve())):
        sys.exit(f"mutants.py: the copy imports minirl from {path}, not from {copy_dir}: "
                 f"refusing to run ({out.stderr.strip()})")


def pytest_command(tests, deselect, extra_deselected=()):
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
           "--no-header", "-o", "addopts="]
    if deselect:
        cmd += ["-k", deselect]
    for node in extra_deselected:
        cmd += ["--deselect", node]
    return cmd + list(tests)


def run_tests(copy_dir, tests, deselect, timeout, extra_deselected=()):
    """(status, seconds, tail of output): status is 'pass', 'fail' or 'timeout'."""
    start = time.monotonic()
    try:
        out = subprocess.run(pytest_command(tests, deselect, extra_deselected), cwd=copy_dir,
                             env=child_env(copy_dir), capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - start, ""
    seconds = time.monotonic() - start
    # pytest exit 5: nothing collected -- a mutant cannot count as killed by that
    if out.returncode == 5:
        return "error", seconds, out.stdout[-2000:] + out.stderr[-2000:]
    status = "pass" if out.returncode == 0 else "fail"
    return status, seconds, out.stdout[-2000:] + out.stderr[-2000:]


def baseline_failures(root, tests, deselect, timeout):
    """Test ids that already fail without any mutant: deselected in every mutant run, so
    that someone's half-finished edit is not counted as a kill."""
    with tempfile.TemporaryDirectory(prefix="minirl-base-") as tmp:
        copy_dir = Path(tmp)
        copy_tree(root, copy_dir)
        check_imports_copy(copy_dir)
        existing = [t for t in tests if (copy_dir / t.split("::")[0]).exists()]
        cmd = pytest_command(existing, deselect)
        cmd.remove("-x")
        cmd += ["-rfE"]
        try:
            out = subprocess.run(cmd, cwd=copy_dir, env=child_env(copy_dir),
                                 capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            sys.exit("mutants.py: the unmutated covering tests ran past the timeout")
        failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", out.stdout, re.MULTILINE)
        return failed, out


# --- forked runs: the libraries are imported once, each mutant's tests run in a fork ---
def preload():
    """Import what every test run needs (not minirl: each fork imports its own copy), so
    that a forked run spends its time on the tests, not on importing NumPy and gymnasium."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import gymnasium  # noqa: F401
    import hypothesis  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import pytest  # noqa: F401
    if any(name == "minirl" or name.startswith("minirl.") for name in sys.modules):
        sys.exit("mutants.py: minirl was imported before forking; refusing to run")


def fork_tests(copy_dir, args, log_path):
    """Run ``pytest args`` in a forked child that imports minirl from ``copy_dir``;
    return its pid. The child is its own process group (a timeout kills its workers too)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 98
    try:
        os.setpgid(0, 0)
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.chdir(copy_dir)
        os.environ.update(child_env(copy_dir))  # spawned workers import the copy too
        sys.path.insert(0, str(copy_dir))
        import minirl
        where = Path(minirl.__file__).resolve()
        if not str(where).startswith(str(Path(copy_dir).resolve())):
            print(f"minirl imported from {where}, not from the copy {copy_dir}")
            code = 99
        else:
            import pytest
            code = int(pytest.main(list(args)))
    except BaseException:  # noqa: BLE001  (whatever happens, the parent gets a code)
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def exit_status(status):
    """A forked run's wait status as 'pass', 'fail' or 'error' (as run_tests)."""
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return "pass"
    if code in (5, 98, 99):  # nothing collected, or the child itself went wrong
        return "error"
    return "fail"  # failed tests, a collection error, or a crash: the mutant is killed


def prepare_copy(root, m, tmp):
    """Copy the checkout into ``tmp`` and apply the mutant; the tests to run, or a status."""
    copy_tree(root, tmp)
    target = tmp / m.file
    mutated = apply_to_text(target.read_text(), m) if target.exists() else None
    if mutated is None:
        return "stale"
    target.write_text(mutated)
    tests = [t for t in m.tests if (tmp / t.split("::")[0]).exists()]
    return tests or "no-tests"


def run_all_forked(root, runnable, deselect, timeout, broken, jobs, report):
    """Keep ``jobs`` forked runs going; fork only from this (the main) thread."""
    pending, running = list(runnable), {}
    while pending or running:
        while pending and len(running) < jobs:
            i, m = pending.pop(0)
            tmp = Path(tempfile.mkdtemp(prefix=f"minirl-{mutant_id(i)}-"))
            tests = prepare_copy(root, m, tmp)
            if isinstance(tests, str):
                report(i, m, tests, 0.0, "")
                shutil.rmtree(tmp, ignore_errors=True)
                continue
            pid = fork_tests(tmp, pytest_command(tests, deselect, broken)[3:], tmp / "pytest.log")
            running[pid] = (i, m, tmp, time.monotonic())
        for pid, (i, m, tmp, started) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            seconds = time.monotonic() - started
            if done:
                result = exit_status(status)
            elif seconds > timeout:
                try:
                    os.killpg(pid, signal.SIGKILL)  # the run and any workers it started
                except ProcessLookupError:
                    pass
                os.waitpid(pid, 0)
                result = "timeout"
            else:
                continue
            log = tmp / "pytest.log"
            report(i, m, result, seconds, log.read_text()[-4000:] if log.exists() else "")
            shutil.rmtree(tmp, ignore_errors=True)
            del running[pid]
        time.sleep(0.05)


def run_one(root, index, m, deselect, timeout, broken):
    with tempfile.TemporaryDirectory(prefix=f"minirl-{mutant_id(index)}-") as tmp:
        copy_dir = Path(tmp)
        copy_tree(root, copy_dir)
        target = copy_dir / m.file
        mutated = apply_to_text(target.read_text(), m) if target.exists() else None
        if mutated is None:
            return "stale", 0.0, ""
        target.write_text(mutated)
        tests = [t for t in m.tests if (copy_dir / t.split("::")[0]).exists()]
        if not tests:
            return "no-tests", 0.0, ""
        return run_tests(copy_dir, tests, deselect, timeout, broken)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", metavar="PATTERN",
                        help="run entries whose id, file, snippet or description match")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="mutants at once (default 2)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds per mutant (default 300); a timeout counts as killed")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the checkout to mutate a copy of (default: this one)")
    parser.add_argument("--with-learning", action="store_true",
                        help="also run the seeded learning tests (test_learns_*)")
    parser.add_argument("--check", action="store_true",
                        help="only report entries whose snippet is missing or ambiguous")
    parser.add_argument("--list", action="store_true", help="print the catalogue and exit")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip running the unmutated tests first")
    parser.add_argument("--no-fork", action="store_true",
                        help="start a new Python for every run instead of forking one that "
                             "has imported the libraries already")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print the test output of survivors")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    chosen = select(CATALOGUE, args.only)
    deselect = None if args.with_learning else DESELECT

    if args.list:
        for i, m in chosen:
            flag = " [equivalent]" if m.equivalent else ""
            print(f"{mutant_id(i)} {m.file}: {m.why}{flag}")
        return 0

    stale, runnable, equivalent = [], [], []
    for i, m in chosen:
        path = root / m.file
        text = path.read_text() if path.exists() else ""
        if text.count(m.original) != 1:
            stale.append((i, m, text.count(m.original)))
        elif m.equivalent:
            equivalent.append((i, m))
        else:
            runnable.append((i, m))
    if args.check:
        for i, m, count in stale:
            print(f"STALE {mutant_id(i)} {m.file}: {m.why} -- snippet found {count} times: "
                  f"{m.original!r}")
        print(f"{len(chosen)} entries: {len(runnable)} runnable, {len(equivalent)} "
              f"equivalent, {len(stale)} stale")
        return 1 if stale else 0

    broken = []
    if not args.no_baseline and runnable:
        files = sorted({t for _, m in runnable for t in m.tests})
        print(f"baseline: the unmutated covering tests ({len(files)} files) ...", flush=True)
        broken, _ = baseline_failures(root, files, deselect, args.timeout * 4)
        for node in broken:
            print(f"  already failing, deselected: {node}")

    results = {}
    start = time.monotonic()

    def report(i, m, status, seconds, output):
        results[i] = (status, output)
        label = {"fail": "killed", "timeout": "killed (timeout)", "pass": "SURVIVED",
                 "stale": "STALE", "error": "ERROR", "no-tests": "NO TESTS"}[status]
        found = re.search(r"^(?:FAILED|ERROR) (\S+)", output, re.MULTILINE)
        by = f"  <- {found.group(1)}" if status == "fail" and found else ""
        print(f"{mutant_id(i)} {label:17s} {seconds:6.1f}s  {m.file}: {m.why}{by}", flush=True)

    if hasattr(os, "fork") and not args.no_fork:
        preload()
        run_all_forked(root, runnable, deselect, args.timeout, broken, max(1, args.jobs),
                       report)
    else:  # a new Python per run; the threads only wait for them
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = {pool.submit(run_one, root, i, m, deselect, args.timeout, broken): (i, m)
                       for i, m in runnable}
            for future in concurrent.futures.as_completed(futures):
                report(*futures[future], *future.result())

    killed = [i for i, (s, _) in results.items() if s in ("fail", "timeout")]
    survivors = [i for i, (s, _) in results.items() if s == "pass"]
    errors = [i for i, (s, _) in results.items() if s in ("error", "no-tests", "stale")]
    print()
    for i, m, count in stale:
        print(f"STALE {mutant_id(i)} {m.file}: {m.why}\n      the snippet is found {count} "
              f"times (must be once); update it: {m.original!r}")
    for i, m in equivalent:
        print(f"equivalent {mutant_id(i)} {m.file}: {m.why} -- {m.equivalent}")
    for i in sorted(survivors):
        m = CATALOGUE[i]
        print(f"SURVIVOR {mutant_id(i)} {m.file}: {m.why}\n    - {m.original!r}\n"
              f"    + {m.mutant!r}\n    tests: {' '.join(m.tests)}")
        if args.verbose:
            print(results[i][1])
    for i in sorted(errors):
        m = CATALOGUE[i]
        print(f"ERROR {mutant_id(i)} {m.file}: {m.why}: {results[i][0]}")
    run = len(killed) + len(survivors)
    rate = 100.0 * len(killed) / run if run else 100.0
    print(f"\nkill rate: {len(killed)}/{run} = {rate:.1f}%   ({len(survivors)} survived, "
          f"{len(stale)} stale, {len(equivalent)} equivalent, {len(errors)} errors; "
          f"{time.monotonic() - start:.0f}s)")
    return 1 if survivors or stale else 0


if __name__ == "__main__":
    sys.exit(main())
