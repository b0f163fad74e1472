"""The environment TensorFlow reads at import is set by the package, before any TF import."""

import os
import subprocess
import sys

from innfer_lib.core.tensorflow_env import TENSORFLOW_ENVIRONMENT


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
