"""gymnasium's API for the CleanRL ports, in numpy alone (gymnasium is not installed here).

The programs write ``import tiny_gym as gym`` where CleanRL writes ``import gymnasium as gym`` and change
nothing else: ``gym.make`` ("CartPole-v1", "Pendulum-v1", the classic-control dynamics), ``gym.spaces``
(``Discrete``, ``Box``), ``gym.wrappers`` (the ones CleanRL's PPO and DQN wrap with) and
``gym.vector.SyncVectorEnv`` with gymnasium 1.0's ``AutoresetMode.SAME_STEP`` (a finished sub-environment
resets in the same ``step``; its last observation and info go to ``infos["final_obs"]`` /
``infos["final_info"]``, masked by ``"_final_obs"`` / ``"_final_info"``). No framework is imported: both
the torch program and its Ember port step the same environments.
"""

from __future__ import annotations

import enum
import math
import types

import numpy as np

# -- spaces ------------------------------------------------------------------------------------------------


class Space:
    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        self.np_random = np.random.default_rng()

    def seed(self, seed=None):
        self.np_random = np.random.default_rng(seed)


class Discrete(Space):
    def __init__(self, n: int):
        super().__init__((), np.int64)
        self.n = int(n)

    def sample(self):
        return np.int64(self.np_random.integers(self.n))


class Box(Space):
    def __init__(self, low, high, shape=None, dtype=np.float32):
        shape = np.shape(low) if shape is None else shape
        super().__init__(shape, dtype)
        self.low = np.broadcast_to(np.asarray(low, dtype), self.shape).copy()
        self.high = np.broadcast_to(np.asarray(high, dtype), self.shape).copy()

    def sample(self):
        low, high = np.maximum(self.low, -1e6), np.minimum(self.high, 1e6)
        return self.np_random.uniform(low, high).astype(self.dtype)


spaces = types.SimpleNamespace(Discrete=Discrete, Box=Box, Space=Space)


# -- environments ------------------------------------------------------------------------------------------


class Env:
    observation_space: Space
    action_space: Space
    np_random = np.random.default_rng()

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.np_random = np.random.default_rng(seed)
            self.action_space.seed(seed)
        return self._reset(), {}

    def close(self):
        pass

    @property
    def unwrapped(self):
        return self


class CartPoleEnv(Env):
    """gymnasium's CartPole-v1: Euler steps of the cart-pole equations, +1 a step, over past 12 degrees or 2.4."""

    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    theta_threshold, x_threshold = 12 * 2 * math.pi / 360, 2.4

    def __init__(self):
        high = np.array([4.8, np.inf, 0.42, np.inf], dtype=np.float32)
        self.observation_space = Box(-high, high, dtype=np.float32)
        self.action_space = Discrete(2)
        self.state = None

    def _reset(self):
        self.state = self.np_random.uniform(-0.05, 0.05, size=(4,))
        return self.state.astype(np.float32)

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if int(action) == 1 else -self.force_mag
        total_mass, polemass_length = self.masspole + self.masscart, self.masspole * self.length
        costheta, sintheta = math.cos(theta), math.sin(theta)
        temp = (force + polemass_length * theta_dot**2 * sintheta) / total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * costheta**2 / total_mass))
        xacc = temp - polemass_length * thetaacc * costheta / total_mass
        x, x_dot = x + self.tau * x_dot, x_dot + self.tau * xacc
        theta, theta_dot = theta + self.tau * theta_dot, theta_dot + self.tau * thetaacc
        self.state = np.array([x, x_dot, theta, theta_dot])
        terminated = bool(abs(x) > self.x_threshold or abs(theta) > self.theta_threshold)
        return self.state.astype(np.float32), 1.0, terminated, False, {}


class PendulumEnv(Env):
    """gymnasium's Pendulum-v1: torque in [-2, 2], reward -(theta^2 + 0.1 thetadot^2 + 0.001 u^2)."""

    max_speed, max_torque, dt, g, m, l = 8.0, 2.0, 0.05, 10.0, 1.0, 1.0

    def __init__(self):
        self.observation_space = Box(-np.array([1.0, 1.0, 8.0]), np.array([1.0, 1.0, 8.0]), dtype=np.float32)
        self.action_space = Box(-2.0, 2.0, shape=(1,), dtype=np.float32)

    def _reset(self):
        self.state = self.np_random.uniform([-math.pi, -1.0], [math.pi, 1.0])
        return self._obs()

    def _obs(self):
        theta, thetadot = self.state
        return np.array([math.cos(theta), math.sin(theta), thetadot], dtype=np.float32)

    def step(self, u):
        theta, thetadot = self.state
        u = float(np.clip(np.asarray(u).reshape(-1)[0], -self.max_torque, self.max_torque))
        angle = ((theta + math.pi) % (2 * math.pi)) - math.pi
        cost = angle**2 + 0.1 * thetadot**2 + 0.001 * u**2
        thetadot = np.clip(thetadot + (3 * self.g / (2 * self.l) * math.sin(theta) + 3.0 / (self.m * self.l**2) * u)
                           * self.dt, -self.max_speed, self.max_speed)
        self.state = np.array([theta + thetadot * self.dt, thetadot])
        return self._obs(), -cost, False, False, {}


# -- wrappers ----------------------------------------------------------------------------------------------


class Wrapper(Env):
    def __init__(self, env):
        self.env = env
        self.observation_space, self.action_space = env.observation_space, env.action_space

    def reset(self, *, seed=None, options=None):
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        return self.env.step(action)

    @property
    def unwrapped(self):
        return self.env.unwrapped


class TimeLimit(Wrapper):
    def __init__(self, env, max_episode_steps):
        super().__init__(env)
        self.max_episode_steps, self.elapsed = max_episode_steps, 0

    def reset(self, **kwargs):
        self.elapsed = 0
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.elapsed += 1
        return obs, reward, terminated, truncated or self.elapsed >= self.max_episode_steps, info


class RecordEpisodeStatistics(Wrapper):
    """info["episode"] = {"r": return, "l": length} on the step that ends an episode."""

    def reset(self, **kwargs):
        self.episode_return, self.episode_length = 0.0, 0
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.episode_return += float(reward)
        self.episode_length += 1
        if terminated or truncated:
            info = {**info, "episode": {"r": self.episode_return, "l": self.episode_length}}
        return obs, reward, terminated, truncated, info


class FlattenObservation(Wrapper):
    def step(self, action):
        obs, *rest = self.env.step(action)
        return (np.ravel(obs), *rest)


class ClipAction(Wrapper):
    def step(self, action):
        return self.env.step(np.clip(action, self.action_space.low, self.action_space.high))


class TransformObservation(Wrapper):
    def __init__(self, env, func):
        super().__init__(env)
        self.func = func

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return self.func(obs), info

    def step(self, action):
        obs, *rest = self.env.step(action)
        return (self.func(obs), *rest)


class TransformReward(Wrapper):
    def __init__(self, env, func):
        super().__init__(env)
        self.func = func

    def step(self, action):
        obs, reward, *rest = self.env.step(action)
        return (obs, self.func(reward), *rest)


class _RunningMeanStd:
    def __init__(self, shape=()):
        self.mean, self.var, self.count = np.zeros(shape), np.ones(shape), 1e-4

    def update(self, x):
        batch_mean, batch_var, batch_count = np.mean(x, axis=0), np.var(x, axis=0), x.shape[0]
        delta, total = batch_mean - self.mean, self.count + batch_count
        self.mean = self.mean + delta * batch_count / total
        self.var = (self.var * self.count + batch_var * batch_count + delta**2 * self.count * batch_count / total) / total
        self.count = total


class NormalizeObservation(TransformObservation):
    def __init__(self, env, epsilon=1e-8):
        self.obs_rms = _RunningMeanStd(env.observation_space.shape)
        super().__init__(env, self._normalize)
        self.epsilon = epsilon

    def _normalize(self, obs):
        self.obs_rms.update(np.asarray(obs)[None])
        return ((obs - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + self.epsilon)).astype(np.float32)


class NormalizeReward(Wrapper):
    def __init__(self, env, gamma=0.99, epsilon=1e-8):
        super().__init__(env)
        self.return_rms, self.discounted, self.gamma, self.epsilon = _RunningMeanStd(), 0.0, gamma, epsilon

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.discounted = self.discounted * self.gamma * (1 - terminated) + reward
        self.return_rms.update(np.array([self.discounted]))
        return obs, reward / np.sqrt(self.return_rms.var + self.epsilon), terminated, truncated, info


wrappers = types.SimpleNamespace(
    RecordEpisodeStatistics=RecordEpisodeStatistics, FlattenObservation=FlattenObservation, ClipAction=ClipAction,
    NormalizeObservation=NormalizeObservation, TransformObservation=TransformObservation,
    NormalizeReward=NormalizeReward, TransformReward=TransformReward, TimeLimit=TimeLimit)

REGISTRY = {"CartPole-v1": (CartPoleEnv, 500), "Pendulum-v1": (PendulumEnv, 200)}


def make(env_id: str, render_mode=None, **kwargs):
    if env_id not in REGISTRY:
        raise ValueError(f"tiny_gym.make: unknown environment {env_id!r}; known: {sorted(REGISTRY)}")
    cls, max_episode_steps = REGISTRY[env_id]
    return TimeLimit(cls(**kwargs), max_episode_steps)


# -- the vectorised environment ----------------------------------------------------------------------------


class AutoresetMode(enum.Enum):
    NEXT_STEP = "NextStep"
    SAME_STEP = "SameStep"


class SyncVectorEnv:
    """gymnasium.vector.SyncVectorEnv with autoreset_mode=SAME_STEP: batched observations, rewards (float64),
    terminations and truncations (bool); infos a dict of arrays with a boolean ``_key`` mask per key."""

    def __init__(self, env_fns, autoreset_mode=AutoresetMode.SAME_STEP):
        self.envs = [fn() for fn in env_fns]
        self.num_envs = len(self.envs)
        self.single_observation_space = self.envs[0].observation_space
        self.single_action_space = self.envs[0].action_space
        self.autoreset_mode = autoreset_mode

    def reset(self, *, seed=None, options=None):
        seeds = [None if seed is None else seed + i for i in range(self.num_envs)]
        results = [env.reset(seed=s) for env, s in zip(self.envs, seeds)]
        return np.stack([obs for obs, _ in results]), {}

    def step(self, actions):
        observations, rewards, terminations, truncations, infos = [], [], [], [], {}
        final_obs, final_info = [None] * self.num_envs, [None] * self.num_envs
        for i, (env, action) in enumerate(zip(self.envs, actions)):
            obs, reward, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                final_obs[i], final_info[i] = obs, info
                obs, _ = env.reset()
            observations.append(obs)
            rewards.append(reward)
            terminations.append(terminated)
            truncations.append(truncated)
        done = [o is not None for o in final_obs]
        if any(done):
            infos["final_obs"] = np.array(final_obs, dtype=object)
            infos["_final_obs"] = np.array(done)
            infos["final_info"] = _batch_infos(final_info)
            infos["_final_info"] = np.array(done)
        return (np.stack(observations), np.array(rewards, dtype=np.float64), np.array(terminations),
                np.array(truncations), infos)

    def close(self):
        for env in self.envs:
            env.close()


def _batch_infos(infos):
    """[{"episode": {"r": .., "l": ..}} or None, ...] as gymnasium batches them: {"episode": {"r": array,
    "l": array}, "_episode": mask}."""
    present = [info is not None and "episode" in info for info in infos]
    batched = {}
    if any(present):
        batched["episode"] = {
            "r": np.array([info["episode"]["r"] if ok else 0.0 for info, ok in zip(infos, present)]),
            "l": np.array([info["episode"]["l"] if ok else 0 for info, ok in zip(infos, present)]),
        }
        batched["_episode"] = np.array(present)
    return batched


vector = types.SimpleNamespace(SyncVectorEnv=SyncVectorEnv, AutoresetMode=AutoresetMode)
