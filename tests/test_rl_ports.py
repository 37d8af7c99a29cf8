"""CleanRL's single-file RL programs run on Ember after renaming alone.

tests/rl_ports/ holds vwxyzjn/cleanrl's ``ppo.py`` (discrete PPO), ``ppo_continuous_action.py`` (Gaussian
policy) and ``dqn.py`` as written (gymnasium 1.0 versions), each file saying what it leaves out. gymnasium,
tyro and stable_baselines3 are not installed: the programs import the small stand-ins beside them
(``tiny_gym``: CartPole-v1, Pendulum-v1, the wrappers and ``SyncVectorEnv`` with gymnasium's API;
``tiny_tyro``: ``tyro.cli`` over the ``Args`` dataclass with argparse; ``replay_buffer``: SB3's
``ReplayBuffer``), the same ones for both frameworks. They log with ``torch.utils.tensorboard.SummaryWriter``
(renamed: ``ember.utils.tensorboard``, over tensorboardX) and the checks read the scalars back from the event
files; torch's writer needs the ``tensorboard`` package, and where it is missing tensorboardX's writer (the one
torch's came from) stands in for it. The Ember test renames torch's names in the program's text
(tests/test_ports.py's ``rename``) and runs it; where torch is installed the original runs too; and from torch's
initial weights the first update of each agent gives torch's losses, gradients and updated weights.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
from pathlib import Path

import ember
import numpy as np
import pytest

from tests.core.utils.tensorboard_events import scalars
from tests.test_ports import ported_source, restore_modules

RL_PORTS = Path(__file__).resolve().parent / "rl_ports"
# The modules the programs import by their own names (the stand-ins of gymnasium, tyro, SB3).
LIBRARIES = ["tiny_gym", "tiny_tyro", "replay_buffer"]


def _source(name: str, ported: bool) -> str:
    return ported_source(RL_PORTS / f"{name}.py", ported)


@contextlib.contextmanager
def _libraries(ported: bool):
    """The stand-in modules in sys.modules under the names the programs import (renamed when ``ported``), and
    tensorboardX's writer as ``torch.utils.tensorboard`` for torch when the tensorboard package is missing."""
    names = [*LIBRARIES, "torch.utils.tensorboard"]
    saved = {name: sys.modules.get(name) for name in names}
    try:
        for name in LIBRARIES:
            module = types.ModuleType(name)
            module.__file__ = str(RL_PORTS / f"{name}.py")
            sys.modules[name] = module
            exec(compile(_source(name, ported), module.__file__, "exec", dont_inherit=True), module.__dict__)  # noqa: S102
        if not ported and importlib.util.find_spec("tensorboard") is None:
            import tensorboardX

            sys.modules["torch.utils.tensorboard"] = types.SimpleNamespace(SummaryWriter=tensorboardX.SummaryWriter)
        yield
    finally:
        restore_modules(saved)


def load_program(name: str, ported: bool) -> dict:
    """tests/rl_ports/NAME.py's namespace (renamed to Ember when ``ported``), its stand-ins imported."""
    pytest.importorskip("tensorboardX", reason="the programs log through the optional extra ember[tensorboard]")
    path = RL_PORTS / f"{name}.py"
    namespace = {"__name__": f"rl_ports.{name}", "__file__": str(path)}
    with _libraries(ported):
        exec(compile(_source(name, ported), str(path), "exec", dont_inherit=True), namespace)  # noqa: S102
    return namespace


def _values(scalars: dict, tag: str) -> list[float]:
    return [value for _, value in scalars[tag]]


# -- the programs, renamed and original ----------------------------------------------------------------------


def check_ppo(scalars):
    """CartPole: the policy sharpens (entropy falls from ln 2) and the episodes grow longer."""
    entropy, returns = _values(scalars, "losses/entropy"), _values(scalars, "charts/episodic_return")
    assert len(entropy) == 8 and entropy[0] < np.log(2) and entropy[-1] < entropy[0] - 0.05, entropy
    assert np.mean(returns[-10:]) > np.mean(returns[:10]), returns
    lrs = _values(scalars, "charts/learning_rate")  # (annealed through optimizer.param_groups[0]["lr"])
    assert lrs == pytest.approx([2.5e-3 * (1 - i / 8) for i in range(8)])
    assert all(np.isfinite(_values(scalars, tag)).all() for tag in scalars)


def check_ppo_continuous(scalars):
    """Pendulum with normalised rewards: the critic learns the returns' scale in a few updates."""
    value_loss = _values(scalars, "losses/value_loss")
    assert len(value_loss) == 8 and np.mean(value_loss[-3:]) < 0.1 * value_loss[0], value_loss
    assert len(_values(scalars, "charts/episodic_return")) == 10  # (200-step episodes)
    assert all(np.isfinite(_values(scalars, tag)).all() for tag in scalars)


def check_dqn(scalars):
    """CartPole: the bootstrapped Q values climb towards the discounted return and episodes grow longer."""
    q_values, returns = _values(scalars, "losses/q_values"), _values(scalars, "charts/episodic_return")
    assert q_values[-1] > 3 * q_values[0] > 0, q_values
    assert np.mean(returns[-10:]) > np.mean(returns[:10]), returns
    assert all(np.isfinite(_values(scalars, tag)).all() for tag in scalars)


PPO_ARGS = ["--total-timesteps", "4096", "--num-steps", "128", "--learning-rate", "2.5e-3"]
PPO_CONTINUOUS_ARGS = ["--env-id", "Pendulum-v1", "--total-timesteps", "2048", "--num-steps", "256",
                       "--num-minibatches", "4", "--update-epochs", "4", "--learning-rate", "1e-3"]
DQN_ARGS = ["--total-timesteps", "4000", "--learning-starts", "500", "--train-frequency", "2",
            "--target-network-frequency", "100", "--tau", "0.5", "--batch-size", "64", "--learning-rate", "1e-3"]

# case -> (program, arguments, check)
CASES = {
    "dqn": ("dqn", DQN_ARGS, check_dqn),
    "ppo": ("ppo", PPO_ARGS, check_ppo),
    "ppo_continuous_action": ("ppo_continuous_action", PPO_CONTINUOUS_ARGS, check_ppo_continuous),
}
# Cases that run on torch but not on Ember, with what they wait for; they join CASES when it lands.
PENDING: dict = {}


def test_every_program_is_run_or_waits_for_a_named_feature():
    programs = {path.stem for path in RL_PORTS.glob("*.py")} - set(LIBRARIES)
    assert programs == {name for name, *_ in CASES.values()} | {name for name, *_ in PENDING.values()}
    assert not set(CASES) & set(PENDING)


def _run(case, lib, tmp_path, monkeypatch):
    """The case's program on one thread (as the small programs are timed: numpy's OpenBLAS spreads the
    batch-64 GEMMs over both cores, ~10x the CPU time on a loaded machine; see the report in
    benchmarks/README.md), its check applied to the scalars read back from its event files."""
    monkeypatch.chdir(tmp_path)
    name, argv, check, *_ = {**CASES, **PENDING}[case]
    threads = lib.get_num_threads()
    lib.set_num_threads(1)
    try:
        check(scalars(tmp_path / load_program(name, ported=lib is ember)["main"](list(argv))))
    finally:
        lib.set_num_threads(threads)


@pytest.mark.parametrize("case", sorted(CASES))
def test_ported_program_runs(case, tmp_path, monkeypatch):
    _run(case, ember, tmp_path, monkeypatch)


@pytest.mark.parity
@pytest.mark.parametrize("case", sorted({**CASES, **PENDING}))
def test_torch_original_runs(case, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    _run(case, torch, tmp_path, monkeypatch)


def test_tensor_of_a_bool_ndarray_is_float32_as_in_torch():
    # CleanRL's `torch.Tensor(next_done)` of a bool array, then `1.0 - next_done`
    assert ember.Tensor(np.array([True, False])).dtype == ember.float32


# -- the first update from torch's initial weights -----------------------------------------------------------


def _envs(env_id: str, num_envs: int = 2):
    gym = sys.modules.get("tiny_gym") or _load_tiny_gym()
    return gym.vector.SyncVectorEnv([lambda: gym.make(env_id)] * num_envs)


def _load_tiny_gym():
    module = types.ModuleType("tiny_gym")
    exec(compile(_source("tiny_gym", False), str(RL_PORTS / "tiny_gym.py"), "exec"), module.__dict__)  # noqa: S102
    return module


def _agents(torch, name, env_id, model="Agent"):
    """The program's agent built by torch (seeded) and by Ember, with torch's weights loaded into Ember's."""
    envs = _envs(env_id)
    programs = {lib: load_program(name, ported=lib is ember) for lib in (torch, ember)}
    torch.manual_seed(0)
    agents = {lib: program[model](envs) for lib, program in programs.items()}
    agents[ember].load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in agents[torch].state_dict().items()})
    return agents, envs


def _ppo_minibatch(lib, agent, optimizer, batch, args, continuous):
    """ppo.py's update of one minibatch, line for line (clip_vloss, norm_adv, the entropy bonus)."""
    b_obs, b_actions, b_logprobs, b_advantages, b_returns, b_values = (lib.from_numpy(a) for a in batch)
    if not continuous:
        b_actions = b_actions.long()
    _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs, b_actions)
    logratio = newlogprob - b_logprobs
    ratio = logratio.exp()
    with lib.no_grad():
        approx_kl = ((ratio - 1) - logratio).mean()
    mb_advantages = (b_advantages - b_advantages.mean()) / (b_advantages.std() + 1e-8)
    pg_loss1 = -mb_advantages * ratio
    pg_loss2 = -mb_advantages * lib.clamp(ratio, 1 - args["clip_coef"], 1 + args["clip_coef"])
    pg_loss = lib.max(pg_loss1, pg_loss2).mean()
    newvalue = newvalue.view(-1)
    v_loss_unclipped = (newvalue - b_returns) ** 2
    v_clipped = b_values + lib.clamp(newvalue - b_values, -args["clip_coef"], args["clip_coef"])
    v_loss_clipped = (v_clipped - b_returns) ** 2
    v_loss = 0.5 * lib.max(v_loss_unclipped, v_loss_clipped).mean()
    entropy_loss = entropy.mean()
    loss = pg_loss - args["ent_coef"] * entropy_loss + v_loss * args["vf_coef"]
    optimizer.zero_grad()
    loss.backward()
    norm = lib.nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
    grads = {k: p.grad.numpy().copy() for k, p in agent.named_parameters()}
    optimizer.step()
    losses = [t.item() for t in (loss, pg_loss, v_loss, entropy_loss, approx_kl, norm)]
    return losses, grads, {k: v.detach().numpy().copy() for k, v in agent.state_dict().items()}


@pytest.mark.parity
@pytest.mark.parametrize("name", ["ppo", "ppo_continuous_action"])
def test_ppo_first_update_is_torchs_from_torchs_weights(name):
    """Orthogonal init aside (drawn by torch), the agent's log-probs, entropy, value, the clipped losses,
    clip_grad_norm_ and Adam(eps=1e-5) at an annealed lr give torch's numbers: Categorical's on CartPole,
    Normal's with the state-independent actor_logstd (``.sum(1)``) on Pendulum."""
    torch = pytest.importorskip("torch")
    continuous = name == "ppo_continuous_action"
    agents, envs = _agents(torch, name, "Pendulum-v1" if continuous else "CartPole-v1")
    rng = np.random.default_rng(0)
    n, obs_dim = 64, envs.single_observation_space.shape[0]
    obs = rng.normal(size=(n, obs_dim)).astype(np.float32)
    actions = (rng.normal(size=(n, 1)) if continuous else rng.integers(0, 2, size=n)).astype(np.float32)
    with torch.no_grad():  # the rollout's log-probs and values come from the same (torch) agent
        _, logprobs, _, values = agents[torch].get_action_and_value(torch.from_numpy(obs), torch.from_numpy(
            actions if continuous else actions.astype(np.int64)))
    logprobs = logprobs.numpy() + rng.normal(scale=0.3, size=n).astype(np.float32)  # (so that clipping bites)
    values = values.numpy().ravel()
    advantages = rng.normal(size=n).astype(np.float32)
    batch = (obs, actions, logprobs.astype(np.float32), advantages, (advantages + values).astype(np.float32), values)
    args = {"clip_coef": 0.2, "ent_coef": 0.0 if continuous else 0.01, "vf_coef": 0.5}
    results = {}
    for lib, agent in agents.items():
        optimizer = lib.optim.Adam(agent.parameters(), lr=3e-4, eps=1e-5)
        optimizer.param_groups[0]["lr"] = 0.75 * 3e-4  # (the annealing's write)
        results[lib] = [_ppo_minibatch(lib, agent, optimizer, batch, args, continuous) for _ in range(2)]
    for (ours, ours_grads, ours_state), (theirs, their_grads, their_state) in zip(results[ember], results[torch]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
        assert ours_grads.keys() == their_grads.keys()
        for key, grad in their_grads.items():
            np.testing.assert_allclose(ours_grads[key], grad, rtol=1e-4, atol=1e-6, err_msg=key)
        for key, value in their_state.items():
            np.testing.assert_allclose(ours_state[key], value, rtol=1e-5, atol=1e-6, err_msg=key)
    assert results[torch][0][0][4] > 0  # (approx_kl: the ratios are not all 1)


@pytest.mark.parity
def test_dqn_first_update_is_torchs_from_torchs_weights():
    """dqn.py's TD step from SB3-style samples: target max, gather of the actions, F.mse_loss, Adam, and the
    soft target update through ``target_param.data.copy_(tau * q.data + (1 - tau) * target.data)``."""
    torch = pytest.importorskip("torch")
    agents, envs = _agents(torch, "dqn", "CartPole-v1", model="QNetwork")
    targets = {}
    for lib, q_network in agents.items():
        targets[lib] = type(q_network)(envs)
        targets[lib].load_state_dict(q_network.state_dict())
        with lib.no_grad():
            for p in targets[lib].parameters():
                p.mul_(0.9)  # (a target network that lags behind the online one)
    rng = np.random.default_rng(1)
    n = 32
    data = (rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 2, (n, 1)),
            rng.normal(size=(n, 4)).astype(np.float32), (rng.random((n, 1)) < 0.2).astype(np.float32),
            np.ones((n, 1), np.float32))
    results = {}
    for lib, q_network in agents.items():
        observations, actions, next_observations, dones, rewards = (lib.tensor(a) for a in data)
        optimizer = lib.optim.Adam(q_network.parameters(), lr=2.5e-4)
        with lib.no_grad():
            target_max, _ = targets[lib](next_observations).max(dim=1)
            td_target = rewards.flatten() + 0.99 * target_max * (1 - dones.flatten())
        old_val = q_network(observations).gather(1, actions).squeeze()
        loss = lib.nn.functional.mse_loss(td_target, old_val)
        optimizer.zero_grad()
        loss.backward()
        grads = [p.grad.numpy().copy() for p in q_network.parameters()]
        optimizer.step()
        for target_network_param, q_network_param in zip(targets[lib].parameters(), q_network.parameters()):
            target_network_param.data.copy_(0.5 * q_network_param.data + (1.0 - 0.5) * target_network_param.data)
        results[lib] = (loss.item(), grads, [p.detach().numpy().copy() for p in targets[lib].parameters()],
                        q_network(observations).argmax(dim=1).numpy())
    ours, theirs = results[ember], results[torch]
    assert ours[0] == pytest.approx(theirs[0], rel=1e-5)
    for a, b in zip(ours[1], theirs[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    for a, b in zip(ours[2], theirs[2], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ours[3], theirs[3])
