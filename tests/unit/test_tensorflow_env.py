"""The environment TensorFlow reads at import: set by the package and at a job's start."""

import os
import subprocess
import sys

import pytest

from innfer_lib.core.tensorflow_env import TENSORFLOW_ENVIRONMENT, limit_tensorflow_threads


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TENSORFLOW_ENVIRONMENT}
    return {**env, **extra}


def test_a_tensorflow_job_imports_tf_keras_and_never_keras_3():
    """Keras 3 (and scikit-learn through its wrappers) cost 2 s of every TF job's start."""
    code = (
        "import sys, os, innfer_lib.inference.likelihood, innfer_lib.density.training; "
        "assert 'tensorflow' in sys.modules and 'tf_keras' in sys.modules; "
        "assert 'keras' not in sys.modules, 'Keras 3 was imported'; "
        "assert 'sklearn' not in sys.modules, 'scikit-learn was imported'; "
        "assert os.environ['TF_CPP_MIN_LOG_LEVEL'] == '2'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env=_clean_env())


def test_values_already_in_the_environment_win():
    code = (
        "import os, innfer_lib; "
        "assert os.environ['TF_USE_LEGACY_KERAS'] == '0'; "
        "assert os.environ['TF_CPP_MIN_LOG_LEVEL'] == '0'"
    )
    env = _clean_env(TF_USE_LEGACY_KERAS="0", TF_CPP_MIN_LOG_LEVEL="0")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, env=env)


# A rule script in miniature that reports TensorFlow's pool sizes and the threads of its process
# after one op (TensorFlow starts its pools on the first op).
POOL_SCRIPT = """
import os, sys, types

snakemake = types.SimpleNamespace(log=[sys.argv[1]], rule="tiny", threads=int(sys.argv[2]))

from innfer_lib.core.runner import run, start_job

start_job(snakemake)

import tensorflow as tf


def main(smk):
    a = tf.random.normal((300, 300), dtype=tf.float64)
    tf.linalg.matmul(a, a).numpy()
    pools = [os.environ[name] for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")]
    print("pools", *pools, "threads", len(os.listdir("/proc/self/task")), flush=True)


run(snakemake, main)
"""


def _pools_and_threads(tmp_path, threads: int) -> tuple[list[str], int]:
    script, log = tmp_path / "tiny.py", tmp_path / f"tiny_{threads}.log"
    script.write_text(POOL_SCRIPT)
    env = {k: v for k, v in _clean_env().items() if not k.startswith("TF_NUM_")}
    subprocess.run(
        [sys.executable, str(script), str(log), str(threads)], check=True, timeout=120, env=env
    )
    words = next(line for line in log.read_text().splitlines() if line.startswith("pools"))
    _, intra, inter, _, count = words.split()
    return [intra, inter], int(count)


@pytest.mark.slow
def test_a_job_sizes_tensorflows_pools_to_its_rules_threads(tmp_path):
    """Each of TensorFlow's two pools has one thread per reserved core, not per host core: three
    more reserved cores are exactly six more threads in the process."""
    pools_1, count_1 = _pools_and_threads(tmp_path, 1)
    pools_4, count_4 = _pools_and_threads(tmp_path, 4)
    assert pools_1 == ["1", "1"] and pools_4 == ["4", "4"]
    assert count_4 - count_1 == 2 * 3


def test_pool_sizes_already_in_the_environment_win(monkeypatch):
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "7")
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    limit_tensorflow_threads(2)
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "7"
    assert os.environ["TF_NUM_INTEROP_THREADS"] == "2"


def test_a_job_has_at_least_one_thread():
    with pytest.raises(ValueError, match="at least 1 thread"):
        limit_tensorflow_threads(0)
