"""Profiles, resources and conda envs (issue 7): what a cluster run would submit, without a pool.

`snakemake -n --profile profiles/htcondor` needs the executor plugin (in the `test` extra) but
no HTCondor pool: dry runs never build the executor. The submit description is checked by
handing a dry-run job's resources to the plugin's own `run_job` with the schedd replaced.
"""

import math
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from tests.conftest import introspect_workflow

REPO = Path(__file__).resolve().parents[2]
RULE_FILES = sorted((REPO / "rules").glob("*.smk"))
ENVS = {"data", "tensorflow", "fit", "plot"}
# Rules whose runtime is computed per job (a function of its wildcards).
PER_JOB_RUNTIME = {"toy_fit"}
# The rules that train a network (issue 15 added the weight-ratio FCNNs, issue 16 the
# members of a density ensemble, issue 17 the trials of the hyperparameter searches).
TRAINING_RULES = {
    "train_density",
    "train_density_member",
    "train_regression",
    "train_classifier",
    "train_scan_trial",
    "bayesian_tuning_worker",
}


def write_config(tmp_path, **overrides) -> Path:
    base = yaml.safe_load(open(REPO / "config/config.yaml"))
    base.update(overrides)
    base["results_dir"] = str(tmp_path / "results")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(base))
    return cfg


def parse_value(text: str):
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return {"True": True, "False": False}.get(text, text)


def dry_run_jobs(output: str) -> list[dict]:
    """Each job block of a dry run: rule, threads, priority, wildcards and resources (values not
    known yet dropped)."""
    jobs, job = [], None
    for line in output.splitlines():
        m = re.match(r"^(?:local)?rule (\w+):$", line)
        if m:
            job = {
                "rule": m.group(1),
                "threads": 1,
                "priority": 0,
                "wildcards": {},
                "resources": {},
            }
            jobs.append(job)
        elif job is not None and line.startswith("    wildcards: "):
            for item in line.split(":", 1)[1].split(", "):
                name, value = item.strip().split("=", 1)
                job["wildcards"][name] = value
        elif job is not None and line.startswith("    threads: "):
            job["threads"] = int(line.split(":", 1)[1])
        elif job is not None and line.startswith("    priority: "):
            job["priority"] = int(line.split(":", 1)[1])
        elif job is not None and line.startswith("    resources: "):
            for item in line.split(":", 1)[1].split(", "):
                name, value = item.strip().split("=", 1)
                if value != "<TBD>":
                    job["resources"][name] = parse_value(value)
        elif not line.strip():
            job = None
    return jobs


def job_counts(output: str) -> dict[str, int]:
    counts = {}
    for job in dry_run_jobs(output):
        counts[job["rule"]] = counts.get(job["rule"], 0) + 1
    return counts


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory):
    """The default config dry-run with the HTCondor profile and with the default profile only."""
    from tests.conftest import run_snakemake

    cfg = write_config(tmp_path_factory.mktemp("profiles"))
    cluster = run_snakemake("-n", "--profile", "profiles/htcondor", "--configfile", str(cfg))
    local = run_snakemake("-n", "--configfile", str(cfg))
    return {
        "htcondor": cluster.stdout + cluster.stderr,
        "default": local.stdout + local.stderr,
    }


# ---------------------------------------------------------------- dry runs with the profiles


def test_htcondor_dry_run_needs_no_pool_and_keeps_the_dag(dry_runs):
    out = dry_runs["htcondor"]
    # Both profiles are loaded: the cluster one and the workflow profile on top of it.
    assert "Using profiles profiles/htcondor and workflow specific profile profiles/default" in out
    jobs = dry_run_jobs(out)
    assert len(jobs) > 50
    assert job_counts(out) == job_counts(dry_runs["default"])


def test_only_training_jobs_request_a_gpu(dry_runs):
    jobs = dry_run_jobs(dry_runs["htcondor"])
    with_gpu = {j["rule"] for j in jobs if {"gpu", "request_gpus"} & set(j["resources"])}
    # Every training job of the run, and nothing else.
    assert with_gpu == TRAINING_RULES & {j["rule"] for j in jobs}
    for job in jobs:
        res = job["resources"]
        if job["rule"] in TRAINING_RULES:
            assert res["gpu"] == 1 and res["request_gpus"] == 1
            # set-resources in the profile: more host memory for GPU jobs, both names.
            assert res["mem_mb"] == res["htcondor_request_mem_mb"] == 16000
            assert res["classad_MaxRuntime"] == 240 * 60
        if job["rule"] == "all":
            continue
        # Every submitted job carries the plugin's names next to Snakemake's, and getenv.
        assert res["htcondor_request_mem_mb"] == res["mem_mb"], job
        assert res["classad_MaxRuntime"] == 60 * res["runtime"], job
        assert res["getenv"] is True, job


def test_toy_fit_runtime_per_batch(tmp_path):
    """toy_fit's runtime follows its batch (per_job and sources), in both names."""
    from tests.conftest import run_snakemake

    toys = {"per_job": 100, "sources": ["hessian", "sandwich", "scan"], "scan_points": 9}
    cfg = write_config(
        tmp_path,
        benchmark={"name": "Dim1GaussianWithExpBkgVaryingYield", "events": 1000},
        densities=["truth"],
        evaluation=False,
        validation_indices=[4],
        fits={
            "few": {"toys": 100, "toy_options": {**toys, "per_job": 10}},
            "many": {"toys": 100, "toy_options": toys},
        },
    )
    out = run_snakemake("-n", "--profile", "profiles/htcondor", "--configfile", str(cfg))
    runtimes = {}
    for job in dry_run_jobs(out.stdout + out.stderr):
        if job["rule"] == "toy_fit":
            res = job["resources"]
            assert res["classad_MaxRuntime"] == 60 * res["runtime"], job
            runtimes.setdefault(job["wildcards"]["fit"], set()).add(res["runtime"])
    # Y1 and mu_Gaussian each scanned at 9 points: 3 s + 18 s per toy.
    assert runtimes == {"few": {30}, "many": {10 + math.ceil(100 * 21 / 60)}}


def test_default_profile_dry_run_is_local(dry_runs):
    out = dry_runs["default"]
    assert "Using workflow specific profile profiles/default" in out
    assert "profiles/htcondor" not in out
    jobs = dry_run_jobs(out)
    assert "train_density" in {j["rule"] for j in jobs}
    # No cluster defaults leak into local runs (getenv comes from the HTCondor profile only).
    assert all("getenv" not in j["resources"] for j in jobs)


# ---------------------------------------------------------------- profile settings and lookup


def effective_settings(monkeypatch, argv, xdg=None):
    from snakemake.cli import parse_args

    monkeypatch.chdir(REPO)
    if xdg is not None:
        monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    _, args = parse_args(argv)
    return {
        "executor": args.executor,
        "jobs": args.jobs,
        "latency_wait": args.latency_wait,
        "retries": args.retries,
        "rerun_incomplete": args.rerun_incomplete,
        "keep_going": args.keep_going,
        "held_timeout": args.htcondor_held_timeout,
        "jobdir": args.htcondor_jobdir,
        "sdm": set(args.software_deployment_method),
        "default_resources": sorted(args.default_resources),
        "set_resources": {
            rule: {name: r.value for name, r in res.items()}
            for rule, res in args.set_resources.items()
        },
    }


def test_htcondor_settings_survive_the_default_workflow_profile(monkeypatch):
    settings = effective_settings(monkeypatch, ["-n", "--profile", "profiles/htcondor"])
    assert settings["executor"] == "htcondor"
    assert settings["latency_wait"] == 60
    assert settings["retries"] == 1  # a failed job is resubmitted once
    assert settings["rerun_incomplete"] and settings["keep_going"]
    assert settings["held_timeout"] == 0  # a held job fails at once, with its hold reason
    assert settings["jobdir"] == ".snakemake/htcondor"
    assert "getenv" in settings["default_resources"]
    for rule in (
        "train_density",
        "train_density_member",
        "train_scan_trial",
        "bayesian_tuning_worker",
    ):
        assert settings["set_resources"][rule] == {
            "mem_mb": 16000,
            "htcondor_request_mem_mb": 16000,
        }
    # conda is the cluster path but opt-in (`--sdm conda`): dry runs and conda-less sites work.
    assert settings["sdm"] == set()


def test_default_profile_sets_nothing_the_cluster_profile_sets():
    """The workflow profile wins key by key over --profile, so shared keys must agree."""
    default = yaml.safe_load(open(REPO / "profiles/default/config.yaml"))
    cluster = yaml.safe_load(open(REPO / "profiles/htcondor/config.yaml"))
    for key in set(default) & set(cluster):
        assert default[key] == cluster[key], key
    assert "default-resources" not in default  # it would drop the cluster's getenv


def test_every_way_to_name_the_profile_gives_the_same_settings(monkeypatch, tmp_path):
    reference = effective_settings(monkeypatch, ["-n", "--profile", "profiles/htcondor"])
    # `--profile htcondor` searches ./htcondor, $XDG_CONFIG_HOME/snakemake/htcondor and
    # /etc/xdg/snakemake/htcondor (not ./profiles/): the README links the profile in.
    (tmp_path / "snakemake").mkdir()
    (tmp_path / "snakemake" / "htcondor").symlink_to(REPO / "profiles/htcondor")
    by_name = effective_settings(monkeypatch, ["-n", "--profile", "htcondor"], xdg=tmp_path)
    assert by_name == reference
    # `--workflow-profile htcondor` finds ./profiles/htcondor and replaces profiles/default.
    workflow = effective_settings(monkeypatch, ["-n", "--workflow-profile", "htcondor"])
    assert workflow == reference


def test_unlinked_profile_name_is_an_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--profile", "htcondor"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)},
    )
    assert proc.returncode != 0
    assert "profile directory given (htcondor)" in proc.stderr


# ---------------------------------------------------------------- the plugin's submit description


class _Recorder:
    """Stands in for htcondor2: keeps the submit description instead of submitting it."""

    def __init__(self):
        self.submitted = []
        recorder = self

        class Submit(dict):
            def issue_credentials(self):
                return None

        class Schedd:
            def submit(self, description):
                recorder.submitted.append(dict(description))
                return SimpleNamespace(cluster=lambda: len(recorder.submitted))

        self.Submit = Submit
        self.Schedd = Schedd


def submit_description(monkeypatch, tmp_path, job: dict) -> dict:
    import snakemake_executor_plugin_htcondor as plugin

    recorder = _Recorder()
    monkeypatch.setattr(plugin, "htcondor", recorder)
    executor = plugin.Executor.__new__(plugin.Executor)
    executor.workflow = SimpleNamespace(
        storage_settings=SimpleNamespace(shared_fs_usage={"input-output"})
    )
    executor.jobDir = str(tmp_path / "htcondor")
    executor._unified_log_file = str(tmp_path / "htcondor" / "snakemake-rules.log")
    executor.logger = SimpleNamespace(
        info=lambda *a, **k: None, debug=lambda *a, **k: None, warning=lambda *a, **k: None
    )
    monkeypatch.setattr(executor, "envvars", lambda: {}, raising=False)
    monkeypatch.setattr(executor, "report_job_submission", lambda info: None, raising=False)
    monkeypatch.setattr(
        executor,
        "_get_exec_args_and_transfer_files",
        lambda job, needs_transfer: ("python", "-m snakemake", [], [], []),
        raising=False,
    )
    fake_job = SimpleNamespace(
        name=job["rule"], jobid=1, threads=job["threads"], resources=job["resources"]
    )
    executor.run_job(fake_job)
    assert len(recorder.submitted) == 1
    return recorder.submitted[0]


def test_plugin_submits_gpu_memory_and_runtime_for_training(dry_runs, monkeypatch, tmp_path):
    jobs = dry_run_jobs(dry_runs["htcondor"])
    train = next(j for j in jobs if j["rule"] == "train_density")
    sub = submit_description(monkeypatch, tmp_path, train)
    assert sub["request_gpus"] == 1
    assert sub["request_memory"] == "16000MB"
    assert sub["+MaxRuntime"] == 240 * 60
    assert sub["getenv"] is True
    assert sub["request_cpus"] == str(train["threads"])
    assert sub["batch_name"] == "train_density-1"


# Rules that reserve DENSITY_JOB_THREADS (rules/common.smk) locally and 2 cores on a slot.
DENSITY_JOB_RULES = {
    "train_density",
    "train_density_member",
    "evaluate_density",
    "make_asimov",
    "make_asimov_nuisance_variations",
    "density_performance_metrics",
    "density_performance_metrics_per_epoch",
    "pvalue_sim_vs_synth",
    "pvalue_synth_vs_synth",
    "train_regression",
    "train_classifier",
    "evaluate_regression",
    "evaluate_classifier",
    "make_asimov_for_normalisation_spline",
    "normalisation_spline_classifier",
}


def test_density_jobs_pack_locally_and_ask_two_cores_of_a_slot(dry_runs, monkeypatch, tmp_path):
    profile = yaml.safe_load(open(REPO / "profiles/htcondor/config.yaml"))
    assert set(profile["set-threads"]) == DENSITY_JOB_RULES
    local = {j["rule"]: j["threads"] for j in dry_run_jobs(dry_runs["default"])}
    cluster = [j for j in dry_run_jobs(dry_runs["htcondor"]) if j["rule"] in DENSITY_JOB_RULES]
    assert {"train_density", "evaluate_density", "make_asimov", "density_performance_metrics"} <= {
        j["rule"] for j in cluster
    }
    for job in cluster:
        assert local[job["rule"]] == 1 and job["threads"] == 2, job
    sub = submit_description(monkeypatch, tmp_path, cluster[0])
    assert sub["request_cpus"] == "2"


def test_training_then_the_fits_start_first_among_ready_jobs(dry_runs):
    """A local run's length is training (with the loading and preprocessing it waits for)
    plus the fits that wait for it: the rest packs."""
    priority = {j["rule"]: j["priority"] for j in dry_run_jobs(dry_runs["default"])}
    fits = {"initial_fit_batch0", "hessian_batch0"}
    training = {"load_data", "preprocess_model", "train_density"}
    others = set(priority) - fits - training
    assert min(priority[r] for r in training) > max(priority[r] for r in fits)
    assert min(priority[r] for r in fits) > max(priority[r] for r in others)


def test_plugin_submits_no_gpu_for_a_fit(dry_runs, monkeypatch, tmp_path):
    jobs = dry_run_jobs(dry_runs["htcondor"])
    # The default run fits its 9 points per density in one job (points_per_job: 10).
    fit = next(j for j in jobs if j["rule"] == "initial_fit_batch0")
    sub = submit_description(monkeypatch, tmp_path, fit)
    assert "request_gpus" not in sub and "require_gpus" not in sub
    assert fit["resources"]["mem_mb"] == 4000
    assert sub["request_memory"] == "4000MB"  # the plugin writes GB only for multiples of 1024
    assert fit["resources"]["runtime"] == 9 * 30  # 30 minutes per point
    assert sub["+MaxRuntime"] == 60 * fit["resources"]["runtime"]
    assert sub["getenv"] is True


# ---------------------------------------------------------------- the resources() helper

INTROSPECT = r"""
helper = workflow.globals["resources"]

def fixed(resources):
    # Values given as numbers or strings (defaults computed per job are left out).
    out = {}
    for name, r in resources.items():
        try:
            value = r.value
        except ValueError:
            continue
        if isinstance(value, (int, str)) and not name.startswith("_"):
            out[name] = value
    return out

rules = {
    rule.name: {
        "resources": fixed(rule.resources),
        "conda": rule.conda_env,
        # str(): a rule made by `use rule` holds its file as a SourceFile, not a str.
        "snakefile": str(rule.snakefile),
        "norun": rule.norun,
    }
    for rule in workflow.rules
}
calls = {
    "default": helper(),
    "fit": helper(mem_mb=4000),
    "gpu": helper(kind="gpu", mem_mb=8000, runtime=240),
}
try:
    helper(kind="tpu")
    calls["bad_kind"] = None
except ValueError as e:
    calls["bad_kind"] = str(e)
emit({"rules": rules, "calls": calls})
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    config = {"results_dir": str(tmp_path_factory.mktemp("resources") / "results")}
    return introspect_workflow(INTROSPECT, config)


def test_resources_helper_gives_both_name_sets(parsed):
    calls = parsed["calls"]
    assert calls["default"] == {
        "mem_mb": 2000,
        "runtime": 30,
        "htcondor_request_mem_mb": 2000,
        "classad_MaxRuntime": 1800,
    }
    assert calls["fit"]["htcondor_request_mem_mb"] == calls["fit"]["mem_mb"] == 4000
    assert "gpu" not in calls["fit"] and "request_gpus" not in calls["fit"]
    assert calls["gpu"] == {
        "mem_mb": 8000,
        "runtime": 240,
        "htcondor_request_mem_mb": 8000,
        "classad_MaxRuntime": 14400,
        "gpu": 1,
        "request_gpus": 1,
    }
    assert "kind must be one of" in calls["bad_kind"]


def test_fit_gpu_puts_the_fit_stage_jobs_on_gpu_slots(monkeypatch, tmp_path):
    """`fit_gpu: true` is one switch: every FIT_RESOURCES job asks for a GPU, nothing else."""
    from tests.conftest import run_snakemake

    cfg = write_config(tmp_path, fit_gpu=True)
    run = run_snakemake("-n", "--profile", "profiles/htcondor", "--configfile", str(cfg))
    jobs = dry_run_jobs(run.stdout + run.stderr)
    with_gpu = {j["rule"] for j in jobs if {"gpu", "request_gpus"} & set(j["resources"])}
    assert with_gpu == {"train_density", "initial_fit_batch0", "hessian_batch0"}
    fit = next(j for j in jobs if j["rule"] == "initial_fit_batch0")
    assert fit["resources"]["gpu"] == fit["resources"]["request_gpus"] == 1
    assert submit_description(monkeypatch, tmp_path, fit)["request_gpus"] == 1


def test_rule_resources_training_alone_has_a_gpu(parsed):
    rules = parsed["rules"]
    gpu_rules = {n for n, r in rules.items() if {"gpu", "request_gpus"} & set(r["resources"])}
    assert gpu_rules == TRAINING_RULES
    train = rules["train_density"]["resources"]
    assert train["gpu"] == train["request_gpus"] == 1
    for name in ("initial_fit", "hessian", "evaluate_density", "make_asimov"):
        res = rules[name]["resources"]
        assert "gpu" not in res and "request_gpus" not in res, name
    for name, rule in rules.items():
        if rule["norun"]:
            continue
        res = rule["resources"]
        assert res["htcondor_request_mem_mb"] == res["mem_mb"], name
        if name in PER_JOB_RUNTIME:  # a function of the job (test_toy_fit_runtime_per_batch)
            assert "classad_MaxRuntime" not in res, name
            continue
        assert res["classad_MaxRuntime"] == 60 * res["runtime"], name


def test_only_training_calls_the_gpu_kind_in_any_rule_file():
    """Also covers rules the default config does not define (make_example, ...)."""
    for path in RULE_FILES:
        for name, body in rule_blocks(path):
            if 'kind="gpu"' in body:
                assert name in TRAINING_RULES, (path.name, name)


# ---------------------------------------------------------------- conda envs


def rule_blocks(path: Path):
    """(name, text) of every rule in a .smk file, whatever config would define it; a rule made
    in a loop (`rule:` with a `name:`, rules/custom.smk) is named by its name's expression."""
    text = path.read_text()
    rule = re.compile(r'^ *rule (\w+):|^ *rule:\n(?: +"""[^\n]*"""\n)? +name:\n +(.+)$', re.M)
    starts = [(m.start(), m.group(1) or m.group(2)) for m in rule.finditer(text)]
    for i, (start, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        yield name, text[start:end]


def test_every_rule_names_an_existing_conda_env():
    seen = set()
    for path in RULE_FILES:
        for name, body in rule_blocks(path):
            m = re.search(r"^\s+conda:\s*\n\s+\"([^\"]+)\"", body, re.M)
            assert m, f"{path.name}: rule {name} has no conda: env"
            env = (path.parent / m.group(1)).resolve()
            assert env.is_file(), (name, env)
            assert env.parent == REPO / "envs", (name, env)
            seen.add(env.stem)
    assert seen == ENVS


def test_parsed_rules_use_the_env_files(parsed):
    for name, rule in parsed["rules"].items():
        if rule["norun"]:
            assert rule["conda"] is None, name
            continue
        env = (Path(rule["snakefile"]).parent / rule["conda"]).resolve()
        assert env.is_file() and env.stem in ENVS, (name, env)
    assert parsed["rules"]["train_density"]["conda"] == "../envs/tensorflow.yaml"


def pip_pins(requirements) -> dict[str, tuple[str, str]]:
    """name -> (extras, version) for exact `==` pins; anything else fails the test."""
    pins = {}
    for req in requirements:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]+\])?==([^\s;]+)", req.strip())
        assert m, f"not an exact pin: {req!r}"
        pins[m.group(1).lower().replace("_", "-")] = (m.group(2) or "", m.group(3))
    return pins


@pytest.mark.parametrize("name", sorted(ENVS))
def test_env_pins_match_pyproject(name):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    project_pins = pip_pins(project["dependencies"])
    env = yaml.safe_load(open(REPO / "envs" / f"{name}.yaml"))
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda and "pip" in conda
    (pip_section,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    pins = pip_pins(pip_section)
    for package, (_extras, version) in pins.items():
        assert package in project_pins, f"{name}.yaml: {package} is not a project dependency"
        assert version == project_pins[package][1], (name, package)
    if "tensorflow" in pins:
        # TFP 0.25 imports only next to tf-keras of TensorFlow's own minor version.
        assert {"tensorflow-probability", "tf-keras"} <= set(pins), name
    # Training runs on GPU nodes: the tensorflow env brings CUDA and cuDNN from PyPI.
    assert (pins.get("tensorflow", ("", ""))[0] == "[and-cuda]") == (name == "tensorflow")
