"""A smaller INNFER-shaped run config: one category, 2 processes, only a rate parameter and
lnN uncertainties, the mass points from a loop."""

import os

import numpy as np
from common import add_process, base_config

config = base_config("TopMass_lnN", 172.5)
for process, parameters in {"ttbar": ["mtop"], "wjets": []}.items():
    config = add_process(config, process, f"$INPUTS/{process}.parquet", parameters, {}, [])
config["export_string"] = {
    "INPUTS": os.environ.get("INNFER_RUN_CONFIG_INPUTS", "results/inputs/run_config_test")
}
config["nuisances"] = ["lumi"]
config["inference"]["rate_parameters"] = ["ttbar"]
config["inference"]["lnN"] = {p: [{"parameter": "lumi", "rate": 1.025}] for p in ("ttbar", "wjets")}
# INNFER's top-level spelling (the helper's empty inference list would contradict it).
del config["inference"]["nuisance_constraints"]
config["nuisance_constraints"] = ["lumi"]
config["validation"]["loop"] += [{"mtop": float(m)} for m in np.arange(170.5, 175.0, 1.0)]
