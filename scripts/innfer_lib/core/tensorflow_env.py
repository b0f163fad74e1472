"""The environment TensorFlow reads once, when it is imported.

These settings only work if they are in place before the first ``import tensorflow`` of the
process, so the package sets them on its own import (`innfer_lib/__init__.py`): every module
that imports TensorFlow is imported through the package. A job's thread pools are sized when
the job starts (`core.runner.start_job`, before the script's imports). Values already in the
environment win, so a user can still ask for TensorFlow's C++ log lines, Keras 3 or other
pool sizes.
"""

import os

TENSORFLOW_ENVIRONMENT: dict[str, str] = {
    # TensorFlow's C++ info and warning lines are noise in a job log; errors still print.
    "TF_CPP_MIN_LOG_LEVEL": "2",
    # `import tensorflow` eagerly imports the optimisers of its Keras. By default that is
    # Keras 3, which also imports keras.wrappers and with them scikit-learn: 1.9 s of every
    # TensorFlow job here (import 8.4 s -> 6.6 s). The project builds on tf_keras (Keras 2,
    # which TensorFlow Probability uses) and never on Keras 3, so TensorFlow's Keras is
    # tf_keras too and nothing imports Keras 3.
    "TF_USE_LEGACY_KERAS": "1",
}


def prepare_tensorflow_environment() -> None:
    """Set `TENSORFLOW_ENVIRONMENT`'s variables that the environment does not set already."""
    for name, value in TENSORFLOW_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


#: TensorFlow's thread pools: within one op (Eigen, oneDNN) and between ops of a graph.
THREAD_POOL_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def limit_tensorflow_threads(threads: int) -> None:
    """Size TensorFlow's thread pools to the cores the job reserved (its rule's `threads`).

    By default each pool has one thread per core of the host, whatever the job asked for. Two
    TensorFlow jobs side by side on 2 cores then run 4 busy threads, and Eigen's spinning
    workers slow both: in the README run the flow's training took 73 s beside the truth-density
    fits and 44 s alone, one epoch 12.5 s instead of 1.7 s. On an HTCondor slot the same
    happens inside the slot's CPU cgroup.
    """
    if threads < 1:
        raise ValueError(f"a job has at least 1 thread, not {threads}")
    for name in THREAD_POOL_VARIABLES:
        os.environ.setdefault(name, str(int(threads)))
