"""Deep Q-learning in the style of Lightning's examples/pytorch/domain_templates/reinforce_learn_Qnet.py.

An agent fills a replay buffer by playing in an environment; an ``IterableDataset`` samples the buffer; the
``training_step`` plays one more step, returns the loss dict (``{"loss": ..., "log": ..., "progress_bar":
...}``) and copies the network into the target network every ``sync_rate`` steps. The environment is a tiny
hand-written corridor (gym's old ``reset`` / ``step`` API) instead of CartPole: walk right to the goal.
"""

import argparse
import random
from collections import OrderedDict, deque, namedtuple
from collections.abc import Iterator

import numpy as np
import torch
from lightning.pytorch import LightningModule, Trainer, seed_everything
from torch import nn, optim
from torch.optim.optimizer import Optimizer
from torch.utils.data import DataLoader
from torch.utils.data.dataset import IterableDataset


class Discrete:
    """gym.spaces.Discrete's two members the agent uses."""

    def __init__(self, n: int) -> None:
        self.n = n

    def sample(self) -> int:
        return random.randrange(self.n)


class Box:
    def __init__(self, shape: tuple) -> None:
        self.shape = shape


class Corridor:
    """States 0..length-1 seen one-hot; action 0 steps left, 1 right; reaching the last state pays 1 and ends
    the episode, which also ends after ``max_steps``."""

    def __init__(self, length: int = 6, max_steps: int = 20) -> None:
        self.length, self.max_steps = length, max_steps
        self.observation_space = Box((length,))
        self.action_space = Discrete(2)

    def _observation(self) -> np.ndarray:
        return np.eye(self.length, dtype=np.float32)[self.position]

    def reset(self) -> np.ndarray:
        self.position, self.steps = 0, 0
        return self._observation()

    def step(self, action: int):
        self.position = max(0, self.position - 1) if action == 0 else self.position + 1
        self.steps += 1
        reached = self.position == self.length - 1
        done = reached or self.steps >= self.max_steps
        return self._observation(), 1.0 if reached else 0.0, done, {}


class DQN(nn.Module):
    """Simple MLP network."""

    def __init__(self, obs_size: int, n_actions: int, hidden_size: int = 32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(obs_size, hidden_size), nn.ReLU(), nn.Linear(hidden_size, n_actions))

    def forward(self, x):
        return self.net(x.float())


# Named tuple for storing experience steps gathered in training
Experience = namedtuple("Experience", field_names=["state", "action", "reward", "done", "new_state"])


class ReplayBuffer:
    """Replay Buffer for storing past experiences allowing the agent to learn from them."""

    def __init__(self, capacity: int) -> None:
        self.buffer = deque(maxlen=capacity)

    def __len__(self) -> int:
        return len(self.buffer)

    def append(self, experience: Experience) -> None:
        self.buffer.append(experience)

    def sample(self, batch_size: int) -> tuple:
        indices = random.sample(range(len(self.buffer)), batch_size)
        states, actions, rewards, dones, next_states = zip(*(self.buffer[idx] for idx in indices))

        return (
            torch.tensor(np.array(states)),
            torch.tensor(actions),
            torch.tensor(rewards, dtype=torch.float32),
            torch.tensor(dones, dtype=torch.bool),
            torch.tensor(np.array(next_states)),
        )


class RLDataset(IterableDataset):
    """Iterable Dataset containing the ExperienceBuffer which will be updated with new experiences during training."""

    def __init__(self, buffer: ReplayBuffer, sample_size: int = 200) -> None:
        self.buffer = buffer
        self.sample_size = sample_size

    def __iter__(self) -> Iterator:
        states, actions, rewards, dones, new_states = self.buffer.sample(self.sample_size)
        for i in range(len(dones)):
            yield states[i], actions[i], rewards[i], dones[i], new_states[i]


class Agent:
    """Base Agent class handling the interaction with the environment."""

    def __init__(self, env, replay_buffer: ReplayBuffer) -> None:
        self.env = env
        self.replay_buffer = replay_buffer
        self.reset()
        self.state = self.env.reset()

    def reset(self) -> None:
        """Resets the environment and updates the state."""
        self.state = self.env.reset()

    def get_action(self, net: nn.Module, epsilon: float, device: str) -> int:
        """Using the given network, decide what action to carry out using an epsilon-greedy policy."""
        if random.random() < epsilon:
            action = self.env.action_space.sample()
        else:
            state = torch.tensor(np.array([self.state]))

            if device not in ["cpu"]:
                state = state.cuda(device)

            q_values = net(state)
            _, action = torch.max(q_values, dim=1)
            action = int(action.item())

        return action

    @torch.no_grad()
    def play_step(self, net: nn.Module, epsilon: float = 0.0, device: str = "cpu") -> tuple[float, bool]:
        """Carries out a single interaction step between the agent and the environment."""
        action = self.get_action(net, epsilon, device)

        # do step in the environment
        new_state, reward, done, _ = self.env.step(action)

        exp = Experience(self.state, action, reward, done, new_state)

        self.replay_buffer.append(exp)

        self.state = new_state
        if done:
            self.reset()
        return reward, done


class DQNLightning(LightningModule):
    """Basic DQN Model."""

    def __init__(
        self,
        replay_size: int = 200,
        warm_start_steps: int = 200,
        gamma: float = 0.9,
        eps_start: float = 1.0,
        eps_end: float = 0.01,
        eps_last_frame: int = 200,
        sync_rate: int = 10,
        lr: float = 1e-2,
        episode_length: int = 64,
        batch_size: int = 16,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.replay_size = replay_size
        self.warm_start_steps = warm_start_steps
        self.gamma = gamma
        self.eps_start = eps_start
        self.eps_end = eps_end
        self.eps_last_frame = eps_last_frame
        self.sync_rate = sync_rate
        self.lr = lr
        self.episode_length = episode_length
        self.batch_size = batch_size

        self.env = Corridor()
        obs_size = self.env.observation_space.shape[0]
        n_actions = self.env.action_space.n

        self.net = DQN(obs_size, n_actions)
        self.target_net = DQN(obs_size, n_actions)

        self.buffer = ReplayBuffer(self.replay_size)
        self.agent = Agent(self.env, self.buffer)
        self.total_reward = 0
        self.episode_reward = 0
        self.step_logs = []
        self.populate(self.warm_start_steps)

    def populate(self, steps: int = 1000) -> None:
        """Carries out several random steps through the environment to initially fill up the replay buffer."""
        for i in range(steps):
            self.agent.play_step(self.net, epsilon=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def dqn_mse_loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Calculates the mse loss using a mini batch from the replay buffer."""
        states, actions, rewards, dones, next_states = batch

        state_action_values = self.net(states).gather(1, actions.unsqueeze(-1)).squeeze(-1)

        with torch.no_grad():
            next_state_values = self.target_net(next_states).max(1)[0]
            next_state_values[dones] = 0.0
            next_state_values = next_state_values.detach()

        expected_state_action_values = next_state_values * self.gamma + rewards

        return nn.MSELoss()(state_action_values, expected_state_action_values)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], nb_batch) -> OrderedDict:
        """Plays one step to update the replay buffer, then computes the loss on the minibatch."""
        device = self.get_device(batch)
        epsilon = max(self.eps_end, self.eps_start - (self.global_step + 1) / self.eps_last_frame)

        # step through environment with agent
        reward, done = self.agent.play_step(self.net, epsilon, device)
        self.episode_reward += reward

        # calculates training loss
        loss = self.dqn_mse_loss(batch)

        if done:
            self.total_reward = self.episode_reward
            self.episode_reward = 0

        # Soft update of target network
        if self.global_step % self.sync_rate == 0:
            self.target_net.load_state_dict(self.net.state_dict())

        log = {
            "total_reward": torch.tensor(self.total_reward).to(device),
            "reward": torch.tensor(reward).to(device),
            "steps": torch.tensor(self.global_step).to(device),
        }

        return OrderedDict({"loss": loss, "log": log, "progress_bar": log})

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        self.step_logs.append({"loss": outputs["loss"].item(), "steps": int(outputs["log"]["steps"])})

    def configure_optimizers(self) -> list[Optimizer]:
        """Initialize Adam optimizer."""
        optimizer = optim.Adam(self.net.parameters(), lr=self.lr)
        return [optimizer]

    def __dataloader(self) -> DataLoader:
        """Initialize the Replay Buffer dataset used for retrieving experiences."""
        dataset = RLDataset(self.buffer, self.episode_length)
        return DataLoader(dataset=dataset, batch_size=self.batch_size, sampler=None)

    def train_dataloader(self) -> DataLoader:
        """Get train loader."""
        return self.__dataloader()

    def get_device(self, batch) -> str:
        """Retrieve device currently being used by minibatch."""
        return batch[0].device.index if self.on_gpu else "cpu"



def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--max_epochs", type=int, default=60)
    parser.add_argument("--default_root_dir", default=".")
    args = parser.parse_args(argv)

    seed_everything(0)
    model = DQNLightning()
    trainer = Trainer(accelerator="cpu", devices=1, val_check_interval=100, max_epochs=args.max_epochs,
                      default_root_dir=args.default_root_dir)
    trainer.fit(model)

    env = Corridor()
    states = torch.tensor(np.eye(env.length, dtype=np.float32)[:-1])
    with torch.no_grad():
        q_values = model(states)
    return {"greedy_actions": q_values.argmax(dim=1).tolist(), "q_right": q_values[:, 1].tolist(),
            "steps": trainer.global_step, "step_logs": model.step_logs}
