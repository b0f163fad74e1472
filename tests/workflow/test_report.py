"""`snakemake --report`: every plot output is registered with a caption, a stage and labels.

The workflow is parsed (not run) in a subprocess with Snakemake's API, and every rule's output
flags are dumped as JSON; the tests then check the `report(...)` flag of each plot, render
each caption with the rule's wildcards (so a caption that names a wildcard its rule lacks
fails here, not when the report is built) and check that the report labels tell every plot of
a table apart.
"""

from pathlib import Path

import pytest
import yaml
from docutils.core import publish_parts
from docutils.utils import SystemMessage
from jinja2 import Environment, StrictUndefined

from tests.conftest import introspect_workflow

REPO = Path(__file__).resolve().parents[2]
REPORT_DIR = REPO / "resources" / "report"
PLOT_EXTENSIONS = (".pdf", ".png")

# Rule files whose plots are not registered yet. Remove a file here when its rules call
# `report_plots`; the tests then cover it like the others.
NOT_YET_REPORTED: set[str] = set()

# Parsed with the optional generator views on and a two-variable benchmark, so that the rules
# whose plot lists depend on the config (unrolled 2-D pairs, standardised views) have plots.
CONFIG = {
    "benchmark": {"name": "Dim2", "events": 1000},
    "generator": {"transformed": True, "unrolled_2d": True},
}

INTROSPECT = r"""
from snakemake.io import get_flag_value

rules = []
for rule in workflow.rules:
    outputs = []
    for f in rule.output:
        flag = get_flag_value(f, "report")
        entry = {"path": str(f), "report": None}
        if flag is not None:
            labels = flag.labels
            if callable(labels):
                # The report calls it with the job's wildcards: here each wildcard is its
                # own pattern ("{val}"), except a fit set, which must name a real one.
                wildcards = Wildcards({n: "{" + n + "}" for n in rule.wildcard_names})
                if "fit" in wildcards:
                    wildcards["fit"] = next(iter(workflow.globals["FITS"]))
                labels = labels(wildcards)
            entry["report"] = {
                "caption": (
                    None
                    if flag.caption is None
                    else flag.caption.get_path_or_uri(secret_free=True)
                ),
                "category": flag.category,
                "subcategory": flag.subcategory,
                "labels": labels,
            }
        outputs.append(entry)
    rules.append(
        {
            "name": rule.name,
            "snakefile": Path(rule.snakefile).name,
            "wildcards": sorted(rule.wildcard_names),
            "outputs": outputs,
        }
    )
stages = dict(workflow.globals["REPORT_STAGES"])
report_text = workflow.report_text
emit({
    "rules": rules,
    "stages": stages,
    "report_text": None if report_text is None else report_text.get_path_or_uri(secret_free=True),
})
"""


def binned_top_mass_config(tmp_path: Path, results_dir: str) -> dict:
    """The top-mass example with a binned fit input, the only config whose
    postfit_plot_binned rule has outputs (a plot per binned category)."""
    base = yaml.safe_load(open(REPO / "config" / "config.yaml"))
    base.update(yaml.safe_load(open(REPO / "config/examples/top_mass/workflow.yaml")))
    raw = yaml.safe_load(open(REPO / base["analysis"]))
    raw["inference"]["binned_fit"] = {
        "files": {"ttbar": [{"file": "ttbar"}], "wjets": [{"file": "wjets"}]},
        "shape_poi_values": [171.5, 172.5, 173.5],
        "input": {
            c: {"variable": "m_jet", "binning": [120.0, 150.0, 180.0]} for c in ("one_b", "two_b")
        },
    }
    analysis = tmp_path / "analysis.yaml"
    analysis.write_text(yaml.safe_dump(raw))
    return {**base, "analysis": str(analysis), "results_dir": results_dir}


@pytest.fixture(scope="module")
def parses(tmp_path_factory):
    """Two parses: the two-variable benchmark with the generator views on, and the binned
    top-mass example, so that every plot rule has plots in at least one of them."""
    tmp = tmp_path_factory.mktemp("report")
    return {
        "Dim2": introspect_workflow(
            INTROSPECT, {**CONFIG, "results_dir": str(tmp / "Dim2" / "results")}
        ),
        "binned_top_mass": introspect_workflow(
            INTROSPECT, binned_top_mass_config(tmp, str(tmp / "top_mass" / "results"))
        ),
    }


@pytest.fixture(scope="module", params=["Dim2", "binned_top_mass"])
def parsed(parses, request):
    return parses[request.param]


def plot_rules(parsed):
    return [
        r
        for r in parsed["rules"]
        if r["snakefile"] not in NOT_YET_REPORTED
        and any(o["path"].endswith(PLOT_EXTENSIONS) for o in r["outputs"])
    ]


def test_rules_with_plots_are_found(parses):
    names = {r["name"] for r in plot_rules(parses["Dim2"])}
    assert "postfit_plot_binned" in {r["name"] for r in plot_rules(parses["binned_top_mass"])}
    assert {
        "input_plot_training",
        "input_plot_validation",
        "train_density",
        "plot_density",
        "generator",
        "generator_combined",
        "generator_summary",
        "flow",
        "epoch_performance_metrics_plot",
        "scan_plot",
        "scan_2d_collect",
        "postfit_plot",
    } <= names


def test_every_plot_is_registered_once_by_its_png(parsed):
    """Each PDF/PNG pair: the PNG is in the report (shown inline), the PDF is not (a duplicate)."""
    for rule in plot_rules(parsed):
        flags = {o["path"]: o["report"] for o in rule["outputs"]}
        plots = [p for p in flags if p.endswith(PLOT_EXTENSIONS)]
        assert plots, rule["name"]
        for path in plots:
            stem, ext = path.rsplit(".", 1)
            png = f"{stem}.png"
            assert png in flags, f"{rule['name']}: {path} has no PNG beside it"
            assert flags[png] is not None, f"{rule['name']}: {png} is not in the report"
            if ext == "pdf":
                assert flags[path] is None, f"{rule['name']}: {path} duplicates its PNG"


def registered(parsed):
    for rule in plot_rules(parsed):
        for output in rule["outputs"]:
            if output["report"] is not None:
                yield rule, output["path"], output["report"]


def test_category_is_a_stage_and_caption_exists(parsed):
    stages = set(parsed["stages"].values())
    assert {"1 Data", "2 Density models", "3 Density evaluation", "4 Fits and scans"} <= stages
    used = set()
    for rule, path, rep in registered(parsed):
        assert rep["category"] in stages, (rule["name"], rep["category"])
        assert rep["subcategory"], (rule["name"], path)
        caption = Path(rep["caption"])
        assert caption.is_file(), (rule["name"], caption)
        assert REPORT_DIR in caption.resolve().parents, (rule["name"], caption)
        used.add(rep["category"])
    assert {"1 Data", "2 Density models", "3 Density evaluation", "4 Fits and scans"} <= used


def render(text, **context):
    env = Environment(trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    rst = env.from_string(text).render(**context)
    # Report level 2: warnings (malformed markup) raise instead of printing into the caption.
    return publish_parts(
        rst, writer="html", settings_overrides={"halt_level": 2, "report_level": 5}
    )["body"]


class _Snakemake:
    def __init__(self, wildcards, config):
        self.wildcards = type("Wildcards", (), wildcards)
        self.config = config


def test_captions_render_with_their_rules_wildcards(parsed):
    """Jinja with only the rule's wildcards defined, then reStructuredText without warnings."""
    seen = set()
    for rule, _, rep in registered(parsed):
        key = (rule["name"], rep["caption"])
        if key in seen:
            continue
        seen.add(key)
        wildcards = {name: f"val-{name}" for name in rule["wildcards"]}
        try:
            html = render(Path(rep["caption"]).read_text(), snakemake=_Snakemake(wildcards, {}))
        except SystemMessage as err:
            pytest.fail(f"{rep['caption']} ({rule['name']}): {err}")
        assert "{{" not in html and "What to look for" in html, rep["caption"]


def test_every_caption_file_is_used(parses):
    used = {
        Path(rep["caption"]).resolve()
        for parsed in parses.values()
        for _, _, rep in registered(parsed)
    }
    files = {
        p.resolve()
        for p in REPORT_DIR.rglob("*.rst")
        if p.name != "workflow.rst" and p.parent.name not in {"summary", "impacts"}
    }
    assert files - used == set()


def test_labels_tell_plots_of_a_table_apart(parsed):
    """The report keys a table row by its labels: two plots with the same labels would collide.

    Labels and subcategories are compared as patterns, with the rule's wildcards unfilled:
    two outputs collide for some job only if their patterns are equal.
    """
    tables = {}
    for rule, path, rep in registered(parsed):
        labels = rep["labels"]
        assert isinstance(labels, dict) and labels, (rule["name"], path)
        assert all(isinstance(v, str) for v in labels.values()), (rule["name"], labels)
        assert next(iter(labels)) == "plot", (rule["name"], labels)
        table = (rep["category"], rep["subcategory"])
        # A wildcard named by neither the subcategory nor a label would give two jobs of the
        # rule rows with the same labels in the same table.
        named = "".join([rep["subcategory"], *labels.values()])
        unnamed = tuple(w for w in rule["wildcards"] if "{" + w + "}" not in named)
        assert not unnamed, f"{rule['name']}: wildcards {unnamed} are in no label"
        row = tuple(sorted(labels.items()))
        other = tables.setdefault(table, {}).setdefault(row, (rule["name"], path))
        assert other == (rule["name"], path), f"{path} and {other[1]} have the same labels"


def test_global_report_description(parsed):
    text = parsed["report_text"]
    assert text is not None and Path(text).resolve() == REPORT_DIR / "workflow.rst"
    html = render(Path(text).read_text(), snakemake=_Snakemake({}, {"results_dir": "results"}))
    for stage in ("Data", "Density models", "Density evaluation", "Fits and scans"):
        assert stage in html
