"""The part INNFER's run configs share, built by functions as INNFER's shipped configs do.

Used by the run configs beside it (tests/unit/test_run_config.py, tests/workflow/
test_run_configs.py): each imports this module, loops over its processes and systematics and
leaves the dict `config`.
"""

import copy

#: Feature shifts: the flow learns them (a 1 % scale of jet mass and pt per unit).
FEATURE_SHIFTS = {"jes": 0.01, "jer": 0.005}
#: Weight shifts: a regression model per process learns w(x, nu) / w(x, 0).
WEIGHT_SHIFTS = ["isr", "fsr"]


def calculate(feature_shifts):
    """m_jet and pt after the feature shifts (INNFER's `calculate`)."""
    scale = " + ".join(f"{size} * {name}" for name, size in feature_shifts.items()) or "0"
    return {"m_jet": f"m_jet_nom * (1 + {scale})", "pt": f"pt_nom * (1 + {scale})"}


def weight_shift(name):
    """The built-in two-weight log-normal variation of one weight systematic."""
    return {
        "type": "function",
        "file": "asym_log_normal",
        "name": "two_weight_variation",
        "args": {"param": name, "weight_up": f"wt_{name}_up", "weight_down": f"wt_{name}_down"},
        "inputs": [f"wt_{name}_up", f"wt_{name}_down", name],
        "outputs": ["wt"],
    }


def file_entry(path, parameters, feature_shifts, weight_shifts):
    entry = {
        "inputs": [path],
        "weight": "gen_wt",
        "parameters": list(parameters),
        "selection": "pt_nom > 380",
        "post_calculate_selection": "pt > 400",
    }
    if feature_shifts:
        entry["calculate"] = calculate(feature_shifts)
    if weight_shifts:
        entry["weight_shifts"] = {name: weight_shift(name) for name in weight_shifts}
    return entry


def shift(low=-3.0, high=3.0):
    return {"type": "continuous", "range": [low, high]}


def model_entry(process, pois, feature_shifts, weight_shifts, pool_over=()):
    density = {
        "parameters": [*pois, *feature_shifts],
        "file": process,
        "shifts": {name: shift() for name in feature_shifts},
    }
    model = {"density_models": [density], "yields": [{"file": process}]}
    if weight_shifts:
        model["regression_models"] = [
            {"parameter": name, "file": process, "shifts": {name: shift()}}
            | ({"pool_over": list(pool_over)} if pool_over else {})
            for name in weight_shifts
        ]
    return model


def base_config(name, poi_default, pois=("mtop",)):
    return {
        "name": name,
        "variables": ["m_jet", "pt"],
        "pois": list(pois),
        "nuisances": [],
        "default_values": {poi: poi_default for poi in pois},
        "files": {},
        "models": {},
        "inference": {"rate_parameters": [], "lnN": {}, "nuisance_constraints": []},
        "validation": {"loop": [{p: poi_default for p in pois}], "files": {}},
        "preprocess": {"train_test_val_split": "0.6:0.2:0.2", "drop_from_training": {}},
    }


def add_process(config, process, path, parameters, feature_shifts, weight_shifts, pool_over=()):
    config["files"][process] = file_entry(path, parameters, feature_shifts, weight_shifts)
    config["models"][process] = model_entry(
        process, parameters, feature_shifts, weight_shifts, pool_over
    )
    config["validation"]["files"][process] = [{"file": process}]
    config["preprocess"]["drop_from_training"][process] = {}
    return copy.deepcopy(config)
