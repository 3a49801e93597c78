"""Benchmark: training speed (environment steps per second, one torch thread) of every algorithm.

Prints, per environment, each algorithm's steps/s with the default suite's hyperparameters, and the
ratio of the in-house DQN to SB3 DQN on the same settings. Evaluation is limited to step 0 and the
end, so the figure is training speed.

    python benchmarks/agent_speed.py --steps 20000 --envs CartPole-v1 Acrobot-v1
"""

from __future__ import annotations

import argparse
import dataclasses
import resource

from rlbench.config.params import load_params
from rlbench.config.plan import plan_suite
from rlbench.training.runner import execute_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000, help="training steps per run")
    parser.add_argument("--envs", nargs="+", default=["CartPole-v1", "Acrobot-v1"])
    parser.add_argument("--suite", default="default")
    args = parser.parse_args()
    params = load_params()
    speeds: dict[tuple[str, str], float] = {}
    print(f"{'env':<14} {'algo':<20} {'steps/s':>9} {'wall s':>8}")
    for spec in list(plan_suite(params, args.suite).runs):
        if spec.seed != params.suite(args.suite).seeds[0] or spec.env not in args.envs:
            continue
        spec = dataclasses.replace(spec, budget=args.steps, eval_every=args.steps, eval_episodes=1)
        provenance = execute_run(spec).provenance
        speeds[(spec.env, spec.algo)] = provenance["env_steps_per_s"]
        print(f"{spec.env:<14} {spec.algo:<20} {provenance['env_steps_per_s']:>9.0f} {provenance['wall_time_s']:>8.1f}")
    for env in args.envs:
        if (env, "dqn") in speeds and (env, "sb3_dqn") in speeds:
            print(f"{env}: in-house DQN / SB3 DQN speed ratio = {speeds[(env, 'dqn')] / speeds[(env, 'sb3_dqn')]:.2f}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
