"""Competitors through their real code paths: rlbench's agents in its training loops, SB3 in its own ``learn``."""

from __future__ import annotations

from typing import Any

from speedbench.harness import ENV_ID, Measurement, Stopwatch, StopwatchMonitor, TimingWindow


def build_rlbench_agent(agent_name: str, hyperparameters: dict[str, Any], schedule_steps: int, seed: int = 0,
                        env_id: str = ENV_ID) -> Any:
    """An rlbench agent built as ``rlbench.training.runner.execute_run`` builds it (same seeding, same
    context), with ``schedule_steps`` as the budget its schedules are laid out over."""
    from rlbench.agents.base import AgentContext
    from rlbench.agents.registry import resolve
    from rlbench.envs.registry import make_env
    from rlbench.seeding import RunSeeds
    from rlbench.training.runner import seed_frameworks

    seeds = RunSeeds.from_seed(seed)
    seed_frameworks(seeds)
    agent_cls = resolve(agent_name)
    config = agent_cls.make_config(hyperparameters)
    probe = make_env(env_id)
    observation_space, action_space = probe.observation_space, probe.action_space
    probe.close()
    context = AgentContext(
        env_name=env_id, observation_space=observation_space, action_space=action_space, seeds=seeds,
        make_env=lambda env_seed: make_env(env_id, env_seed), total_steps=schedule_steps,
    )
    return agent_cls(config, context)


def run_rlbench_online(agent_name: str, hyperparameters: dict[str, Any], schedule_steps: int, window: TimingWindow,
                       env_id: str = ENV_ID) -> Measurement:
    """Train an rlbench ``OnlineAgent`` through the real env loop (``run_env_loop``) up to the window's end."""
    from rlbench.training.loop import run_env_loop

    agent = build_rlbench_agent(agent_name, hyperparameters, schedule_steps, env_id=env_id)
    stopwatch = Stopwatch(window)
    stopwatch.tick(0)
    run_env_loop(agent, window.end, StopwatchMonitor(stopwatch))
    return stopwatch.measurement()


def run_sb3(agent_name: str, hyperparameters: dict[str, Any], schedule_steps: int, window: TimingWindow,
            env_id: str = ENV_ID) -> Measurement:
    """An SB3 model built by rlbench's adapter (same env, seeding, policy), trained by SB3's own ``learn`` with only
    a stopwatch callback, stopped at the window's end (``learn`` is given ``schedule_steps``, so the exploration
    schedule matches the other competitors')."""
    from stable_baselines3.common.callbacks import BaseCallback

    class StopwatchCallback(BaseCallback):
        def __init__(self, stopwatch: Stopwatch) -> None:
            super().__init__(verbose=0)
            self.stopwatch = stopwatch

        def _on_training_start(self) -> None:
            self.stopwatch.tick(0)

        def _on_step(self) -> bool:
            return self.stopwatch.tick(self.num_timesteps)

    agent = build_rlbench_agent(agent_name, hyperparameters, schedule_steps, env_id=env_id)
    stopwatch = Stopwatch(window)
    agent.model.learn(total_timesteps=schedule_steps, callback=StopwatchCallback(stopwatch))
    return stopwatch.measurement()


def build_batched_dqn(hyperparameters: dict[str, Any], seeds: int, schedule_steps: int, env_id: str = ENV_ID,
                      vectorised_env: bool = True) -> tuple[Any, Any]:
    """``seeds`` seeds of rlbench DQN as one ``BatchedDQN`` (each seed built as its separate run would be) and their
    environments, as a suite's ``batch_seeds`` builds them. ``vectorised_env=False`` steps gymnasium environments,
    the implementation separate runs use, instead of the numpy CartPole (which equals them float for float)."""
    from rlbench.agents.dqn_batched import BatchedDQN
    from rlbench.envs.seed_vector import make_seed_vector_env
    from rlbench.seeding import int_seed

    agents = [build_rlbench_agent("dqn", hyperparameters, schedule_steps, seed, env_id) for seed in range(seeds)]
    batched = BatchedDQN(agents[0].config, [agent.context for agent in agents])
    envs = make_seed_vector_env(env_id, [int_seed(c.seeds.env) for c in batched.contexts], vectorised_env)
    return batched, envs


def run_batched_dqn(hyperparameters: dict[str, Any], seeds: int, schedule_steps: int, window: TimingWindow,
                    vectorised_env: bool = True, env_id: str = ENV_ID) -> Measurement:
    """``seeds`` seeds of rlbench DQN trained at once (``BatchedDQN`` in ``run_batched_loop``, the code path of a
    suite's ``batch_seeds``); counts the env steps of every seed."""
    from rlbench.training.batched import run_batched_loop

    batched, envs = build_batched_dqn(hyperparameters, seeds, schedule_steps, env_id, vectorised_env)
    stopwatch = Stopwatch(window)
    stopwatch.tick(0)
    run_batched_loop(batched, batched.contexts, [StopwatchMonitor(stopwatch)] * seeds, window.end, envs)
    one_seed = stopwatch.measurement()
    return Measurement(one_seed.env_steps * seeds, one_seed.cpu_s, one_seed.wall_s)


def run_separate_dqn(hyperparameters: dict[str, Any], seeds: int, schedule_steps: int, window: TimingWindow,
                     env_id: str = ENV_ID) -> Measurement:
    """``seeds`` separate rlbench DQN runs one after another; their timed windows summed."""
    runs = [run_rlbench_online_seed(hyperparameters, schedule_steps, window, seed, env_id) for seed in range(seeds)]
    return Measurement(sum(r.env_steps for r in runs), sum(r.cpu_s for r in runs), sum(r.wall_s for r in runs))


def run_rlbench_online_seed(hyperparameters: dict[str, Any], schedule_steps: int, window: TimingWindow, seed: int,
                            env_id: str = ENV_ID) -> Measurement:
    from rlbench.training.loop import run_env_loop

    agent = build_rlbench_agent("dqn", hyperparameters, schedule_steps, seed, env_id)
    stopwatch = Stopwatch(window)
    stopwatch.tick(0)
    run_env_loop(agent, window.end, StopwatchMonitor(stopwatch))
    return stopwatch.measurement()
