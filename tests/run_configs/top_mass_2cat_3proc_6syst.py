"""A run config shaped like INNFER's boosted top-mass configs: 2 categories x 3 processes x 6
systematics (2 feature shifts learned by the flows, 2 weight shifts learned by regressions,
2 lnN), built by a shared helper and loops, with ${VAR} input paths."""

import os

from common import FEATURE_SHIFTS, WEIGHT_SHIFTS, add_process, base_config

PROCESSES = {"ttbar": ["mtop"], "wjets": [], "st": []}
LNN = {"lumi": 1.025, "xsec_st": [0.9, 1.1]}

config = base_config("TopMass_2cat_3proc_6syst", 172.5)
config["export_string"] = {
    "INPUTS": os.environ.get("INNFER_RUN_CONFIG_INPUTS", "results/inputs/run_config_test")
}
config["categories"] = {"one_b": "nb == 1", "two_b": "nb >= 2"}
for process, parameters in PROCESSES.items():
    config = add_process(
        config,
        process,
        "${INPUTS}/" + process + ".parquet",
        parameters,
        FEATURE_SHIFTS,
        WEIGHT_SHIFTS,
        pool_over=parameters,
    )
systematics = [*FEATURE_SHIFTS, *WEIGHT_SHIFTS, *LNN]
config["nuisances"] = systematics
config["inference"]["rate_parameters"] = ["ttbar"]
for process in PROCESSES:
    config["inference"]["lnN"][process] = [{"parameter": "lumi", "rate": LNN["lumi"]}]
config["inference"]["lnN"]["st"].append({"parameter": "xsec_st", "rate": LNN["xsec_st"]})
config["inference"]["nuisance_constraints"] = systematics
for mass in (171.5, 173.5):
    config["validation"]["loop"].append({"mtop": mass})
for name in [*FEATURE_SHIFTS, *WEIGHT_SHIFTS]:
    for value in (-1.0, 1.0):
        config["validation"]["loop"].append({name: value})
config["data_file"] = "${INPUTS}/data.parquet"
config["data_calculate"] = {"m_jet": "m_jet_nom", "pt": "pt_nom"}
