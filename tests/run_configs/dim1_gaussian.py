"""INNFER's Dim1Gaussian benchmark written as a run config program (one process, no
systematics, the validation points from a loop)."""

import os

POINTS = [171.0 + 0.5 * i for i in range(9)]
inputs = os.environ.get("INNFER_RUN_CONFIG_INPUTS", "results/inputs/run_config_test")

config = {
    "name": "Dim1Gaussian_from_program",
    "variables": ["X1"],
    "pois": ["Y1"],
    "nuisances": [],
    "default_values": {"Y1": 172.5},
    "files": {
        "base": {"inputs": [f"{inputs}/gaussian.parquet"], "weight": "wt", "parameters": ["Y1"]}
    },
    "models": {
        "Gaussian": {
            "density_models": [{"parameters": ["Y1"], "file": "base"}],
            "yields": [{"file": "base"}],
        }
    },
    "validation": {"loop": [{"Y1": y} for y in POINTS], "files": {"Gaussian": [{"file": "base"}]}},
    "preprocess": {
        "train_test_val_split": "0.4:0.3:0.3",
        "drop_from_training": {"Gaussian": {"Y1": [170.5, 171.5, 172.5, 173.5, 174.5]}},
    },
}
