"""The environment TensorFlow reads once, when it is imported.

These settings only work if they are in place before the first ``import tensorflow`` of the
process, so the package sets them on its own import (`innfer_lib/__init__.py`): every module
that imports TensorFlow is imported through the package. Values already in the environment
win, so a user can still ask for TensorFlow's C++ log lines or for Keras 3.
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
