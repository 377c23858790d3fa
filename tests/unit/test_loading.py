"""The loader reads the published layout exactly and refuses anything else with a clear error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

import jina_local
from jina_local.errors import CheckpointError, ModelNotFoundError, UnsupportedModelError


@pytest.fixture()
def checkpoint_copy(tiny_v4_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(tiny_v4_dir, target)
    return target


def test_loads_with_zero_missing_and_unexpected_keys(tiny_v4_dir):
    from transformers import Qwen2_5_VLConfig

    from jina_local.models.jina_v4 import LEGACY_KEY_MAPPING, JinaV4Model

    _, info = JinaV4Model.from_pretrained(
        tiny_v4_dir,
        config=Qwen2_5_VLConfig.from_pretrained(tiny_v4_dir),
        key_mapping=LEGACY_KEY_MAPPING,
        output_loading_info=True,
    )
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
    assert info["mismatched_keys"] == set() and not info["error_msgs"]


def test_every_stored_tensor_reaches_the_model(tiny_v4, tiny_v4_dir):
    model = tiny_v4.backend.model
    state = model.state_dict()
    shard = load_file(str(tiny_v4_dir / "model-00002-of-00002.safetensors"))
    for key, value in shard.items():
        name = "model.language_model." + key[len("model.") :] if key.startswith("model.") else key
        name = "model." + name if name.startswith("visual.") else name
        name = name.replace("multi_vector_projector.weight", "multi_vector_projector.base_layer.weight")
        name = name.replace("multi_vector_projector.bias", "multi_vector_projector.base_layer.bias")
        if ".self_attn." in name or ".mlp." in name:
            name = name.replace(".weight", ".base_layer.weight").replace(".bias", ".base_layer.bias")
            if name.startswith("model.visual."):
                name = name.replace(".base_layer", "")
        assert name in state, name
        assert (state[name].float() == value.float()).all(), name
    adapters = load_file(str(tiny_v4_dir / "adapters/adapter_model.safetensors"))
    for key, value in adapters.items():
        assert (state[key.removeprefix("base_model.model.")] == value.float()).all(), key


def test_renamed_weight_is_refused(checkpoint_copy):
    shard_path = checkpoint_copy / "model-00002-of-00002.safetensors"
    shard = load_file(str(shard_path))
    shard["model.final_norm.weight"] = shard.pop("model.norm.weight")
    save_file(shard, str(shard_path), metadata={"format": "pt"})
    index_path = checkpoint_copy / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    index["weight_map"]["model.final_norm.weight"] = index["weight_map"].pop("model.norm.weight")
    index_path.write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match="missing_keys.*norm.weight|unexpected_keys"):
        jina_local.load(checkpoint_copy, device="cpu")


def test_missing_adapters_are_refused(checkpoint_copy):
    shutil.rmtree(checkpoint_copy / "adapters")
    with pytest.raises(CheckpointError, match="adapters"):
        jina_local.load(checkpoint_copy, device="cpu")


def test_adapter_without_a_task_is_refused(checkpoint_copy):
    path = checkpoint_copy / "adapters/adapter_model.safetensors"
    tensors = {k: v for k, v in load_file(str(path)).items() if ".code." not in k}
    save_file(tensors, str(path))
    with pytest.raises(CheckpointError, match="code"):
        jina_local.load(checkpoint_copy, device="cpu")


def test_unknown_family_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    with pytest.raises(UnsupportedModelError, match="jina-embeddings-v4"):
        jina_local.load(tmp_path)


def test_missing_model_names_id_revision_and_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(ModelNotFoundError) as caught:
        jina_local.load("jinaai/jina-embeddings-v4", revision="v1.0", local_files_only=True)
    message = str(caught.value)
    assert "jinaai/jina-embeddings-v4" in message and "v1.0" in message
    assert "hf download jinaai/jina-embeddings-v4 --revision v1.0" in message


def test_id_in_local_cache_loads_offline(tiny_v4_dir, tmp_path, monkeypatch):
    # Lay the checkpoint out as the Hugging Face cache does: models--org--name/snapshots/<rev>/...
    cache = tmp_path / "hub"
    repo = cache / "models--jinaai--jina-embeddings-v4"
    commit = "0" * 40
    shutil.copytree(tiny_v4_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    model = jina_local.load("jinaai/jina-embeddings-v4", device="cpu")
    assert model.info.name == "jinaai/jina-embeddings-v4"
    assert model.encode("offline").dense.shape == (1, 64)


def test_folder_without_config_is_not_a_model(tmp_path):
    with pytest.raises(ModelNotFoundError, match="config.json"):
        jina_local.load(tmp_path)


def test_nonexistent_path_is_reported(tmp_path):
    with pytest.raises(ModelNotFoundError, match="neither an existing folder"):
        jina_local.load(tmp_path / "nope" / "deeper")


def test_fingerprint_identifies_weights_not_paths_or_dtypes(tiny_v4, tiny_v4_dir, checkpoint_copy):
    bf16 = jina_local.load(checkpoint_copy, device="cpu", dtype="bfloat16")
    assert bf16.info.fingerprint == tiny_v4.info.fingerprint  # other folder, other dtype, same weights
    other_dir = checkpoint_copy.parent / "other"
    from fixture_v4 import write_v4_checkpoint

    other = jina_local.load(write_v4_checkpoint(other_dir, "tiny", seed=1), device="cpu")
    assert other.info.fingerprint != tiny_v4.info.fingerprint


# ---------------------------------------------------------------------------------------------- load() options
@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"device": "bogus"}, "'bogus'"),
        ({"device": 5}, "int"),
        ({"device": None}, "NoneType"),
        ({"device": True}, "bool"),
        ({"device": "cuda:x"}, "'cuda:x'"),
        ({"dtype": "int8"}, "'int8'"),
        ({"dtype": 5}, "int"),
        ({"dtype": None}, "NoneType"),
    ],
)
def test_bad_device_and_dtype_are_option_errors(tiny_v4_dir, kwargs, named):
    from jina_local.errors import OptionError

    with pytest.raises(OptionError, match=named) as caught:
        jina_local.load(tiny_v4_dir, **kwargs)
    message = str(caught.value)
    assert "'cpu'" in message or "'float32'" in message  # names what is allowed


def test_int8_torch_dtype_is_refused(tiny_v4_dir):
    import torch

    from jina_local.errors import OptionError

    with pytest.raises(OptionError, match="float32"):
        jina_local.load(tiny_v4_dir, device="cpu", dtype=torch.int8)


def test_cuda_without_cuda_says_how_to_fix(tiny_v4_dir, monkeypatch):
    import torch

    from jina_local.errors import OptionError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:0", torch.device("cuda")):
        with pytest.raises(OptionError, match="CUDA is not available.*install a CUDA build of torch.*device='cpu'"):
            jina_local.load(tiny_v4_dir, device=device)


def test_device_is_checked_before_the_model_is_looked_up(tmp_path):
    from jina_local.errors import OptionError

    with pytest.raises(OptionError, match="device='bogus'"):
        jina_local.load(tmp_path / "missing", device="bogus")


@pytest.mark.parametrize("name", [5, None, 1.5, ["jinaai/jina-embeddings-v4"], b"jinaai/jina-clip-v2"])
def test_model_name_of_the_wrong_type_is_an_option_error(name):
    from jina_local.errors import OptionError

    with pytest.raises(OptionError, match=type(name).__name__):
        jina_local.load(name, device="cpu")
