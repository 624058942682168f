"""The table-build config: pydantic models with one-line errors in the environment's
style, the YAML keys and defaults of before, and a fingerprint that did not move."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llm_pipeline.config import (
    TableConfig,
    config_from_dict,
    load_table_config,
)
from llm_pipeline.errors import TableConfigError
from netmoe_table import REPO_ROOT

# the v1 table's recipe (data/quality_table_v1.parquet)
DEFAULT = REPO_ROOT / "configs" / "table_v1.yaml"
EXPERT = {"name": "e1", "specialty": "stories", "system_prompt": "Tell stories."}


def test_shipped_config_loads_with_the_fingerprint_of_its_journal():
    cfg = load_table_config(DEFAULT)
    # The value the dataclass config of commit 2c220a8 computed: journals of the v1
    # config stay valid.
    assert cfg.fingerprint() == "a69e4cfc766f9be8"
    assert [e.name for e in cfg.all_experts] == ["local", "storyteller", "explainer", "guide"]
    assert cfg.judge.offline == "offline-minilm-lm-v4" and cfg.fusion.assignments == "all"
    assert cfg.resolve(cfg.prompts) == REPO_ROOT / "data" / "prompts.yaml"


def test_defaults_and_empty_sections():
    cfg = config_from_dict({"experts": [EXPERT], "gate": None, "fusion": None, "judge": None})
    assert cfg.gate.split == "auto" and cfg.fusion.mode == "concat"
    assert cfg.judge.offline == "offline-minilm-v3"
    assert cfg.local.name == "local" and list(cfg.backends) == ["default"]
    assert cfg.out == "data/quality_table.parquet" and cfg.base_dir is None
    own = config_from_dict({"experts": [EXPERT], "local": {"specialty": "x", "system_prompt": "y"}})
    assert own.local.name == "local"
    nulls = config_from_dict({"experts": [EXPERT], "backends": {"default": None}})
    assert nulls.backends["default"].type == "llama_cpp"


@pytest.mark.parametrize(
    "over, needle",
    [
        ({"num_subtasks": 7}, "config: num_subtasks: Input should be less than or equal to 6"),
        ({"experts": []}, "config: experts: need at least one edge expert"),
        ({"experts": [EXPERT, EXPERT]}, "experts: expert names must be unique"),
        ({"experts": [{**EXPERT, "backend": "gpu"}]}, "experts: expert e1: unknown backend 'gpu'"),
        ({"experts": [{**EXPERT, "temperature": 3}]}, "experts.0.temperature: Input should be"),
        ({"experts": [{**EXPERT, "specialty": " "}]}, "experts.0.specialty: empty specialty"),
        ({"backends": {}}, "config: backends: Dictionary should have at least 1 item"),
        ({"backends": {"default": {"type": "openai"}}}, "openai backend needs base_url and model"),
        ({"gate": {"split": "psychic"}}, "config: gate.split: Input should be"),
        ({"fusion": {"assignments": -1}}, "fusion.assignments"),
        ({"judge": {"type": "llm", "backend": "gpu"}}, "config: judge: unknown backend 'gpu'"),
        ({"judge": {"offline": "offline-minilm-v9"}}, "config: judge.offline: Input should be"),
        ({"seed": "many"}, "config: seed: Input should be a valid integer"),
        ({"max_prompts": 0}, "config: max_prompts: Input should be greater than or equal to 1"),
        ({"colour": "blue"}, "config: colour: Extra inputs are not permitted"),
        ({"experts": [EXPERT], "gate": {"max_tokens": float("nan")}}, "gate.max_tokens"),
    ],
)
def test_bad_values_are_one_line_errors(over, needle):
    with pytest.raises(TableConfigError) as exc:
        config_from_dict({"experts": [EXPERT], **over})
    assert needle in str(exc.value) and "\n" not in str(exc.value), str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_yaml_file_errors_name_the_file(tmp_path):
    with pytest.raises(TableConfigError, match="no such config file"):
        load_table_config(tmp_path / "none.yaml")
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"experts": [EXPERT], "num_subtasks": 0}))
    with pytest.raises(TableConfigError, match=f"^{path}: num_subtasks: "):
        load_table_config(path)
    path.write_text("- a list\n")
    with pytest.raises(TableConfigError, match="expected a mapping at the top level"):
        load_table_config(path)


def test_frozen_overrides_are_validated_again(tmp_path):
    cfg = config_from_dict({"experts": [EXPERT]}, base_dir=tmp_path)
    with pytest.raises(ValueError):
        cfg.seed = 3  # frozen: change through with_overrides
    seeded = cfg.with_overrides(seed=3, max_prompts=2)
    assert (seeded.seed, seeded.max_prompts, seeded.base_dir) == (3, 2, str(tmp_path))
    assert seeded.fingerprint() != cfg.fingerprint()
    assert cfg.with_overrides(max_prompts=2).fingerprint() == cfg.fingerprint()
    with pytest.raises(TableConfigError, match="max_prompts"):
        cfg.with_overrides(max_prompts=0)
    assert isinstance(TableConfig.model_fields["out"].description, str)
    assert Path(cfg.resolve("x.yaml")) == tmp_path / "x.yaml"


def test_offline_judge_names_are_the_judges():
    from typing import get_args

    from llm_pipeline.config import OfflineJudgeName
    from llm_pipeline.judge import JUDGES

    assert set(get_args(OfflineJudgeName)) == set(JUDGES)
