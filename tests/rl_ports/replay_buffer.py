"""stable_baselines3.common.buffers.ReplayBuffer's interface, as CleanRL's dqn.py uses it (SB3 is not installed
here): ``add(obs, next_obs, action, reward, done, infos)`` and ``sample(batch_size)`` returning
``ReplayBufferSamples`` of torch tensors (actions ``long`` of shape (batch, 1), rewards and dones (batch, 1)).
Indices are drawn with numpy's global generator, as SB3 does, so a seeded run draws the same batches."""

from typing import NamedTuple

import numpy as np
import torch


class ReplayBufferSamples(NamedTuple):
    observations: torch.Tensor
    actions: torch.Tensor
    next_observations: torch.Tensor
    dones: torch.Tensor
    rewards: torch.Tensor


class ReplayBuffer:
    def __init__(self, buffer_size, observation_space, action_space, device="cpu", n_envs=1,
                 handle_timeout_termination=True):
        self.buffer_size, self.device, self.n_envs = buffer_size, device, n_envs
        obs_shape, action_dim = observation_space.shape, int(np.prod(action_space.shape))
        self.observations = np.zeros((buffer_size, n_envs, *obs_shape), dtype=observation_space.dtype)
        self.next_observations = np.zeros((buffer_size, n_envs, *obs_shape), dtype=observation_space.dtype)
        self.actions = np.zeros((buffer_size, n_envs, action_dim), dtype=action_space.dtype)
        self.rewards = np.zeros((buffer_size, n_envs), dtype=np.float32)
        self.dones = np.zeros((buffer_size, n_envs), dtype=np.float32)
        self.pos, self.full = 0, False

    def add(self, obs, next_obs, action, reward, done, infos):
        self.observations[self.pos] = np.array(obs)
        self.next_observations[self.pos] = np.array(next_obs)
        self.actions[self.pos] = np.array(action).reshape((self.n_envs, -1))
        self.rewards[self.pos] = np.array(reward)
        self.dones[self.pos] = np.array(done)
        self.pos += 1
        if self.pos == self.buffer_size:
            self.full, self.pos = True, 0

    def sample(self, batch_size):
        upper = self.buffer_size if self.full else self.pos
        batch_inds = np.random.randint(0, upper, size=batch_size)
        env_indices = np.random.randint(0, high=self.n_envs, size=(len(batch_inds),))
        data = (self.observations[batch_inds, env_indices, :], self.actions[batch_inds, env_indices, :],
                self.next_observations[batch_inds, env_indices, :],
                self.dones[batch_inds, env_indices].reshape(-1, 1), self.rewards[batch_inds, env_indices].reshape(-1, 1))
        return ReplayBufferSamples(*(torch.tensor(array).to(self.device) for array in data))
