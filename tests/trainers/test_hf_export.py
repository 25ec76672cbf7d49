"""Encoder exports load with transformers' Auto classes (``trust_remote_code``), even without
``trainers`` installed, and give the trainer's own logits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from safetensors.torch import save_model
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

from trainers.errors import ModelLoadError
from trainers.models import load_model

TEXTS = ["the cat sees a song .", "a dog"]


def _batch(tok, side: str) -> dict[str, torch.Tensor]:
    tok.padding_side = side
    return dict(tok(TEXTS, return_tensors="pt", padding=True))


def _mntp_as_bert(ours, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """GPT-BERT's bidirectional logits moved one right; row 0 repeats row 0 (the <s> state)."""
    logits = ours(ids, mask, causal=False)
    return torch.cat([logits[:, :1], logits[:, :-1]], dim=1)


@pytest.mark.parametrize(
    ("arch", "cls"), [("ltgbert", "LTGBERTForMaskedLM"), ("gptbert", "GPTBERTForMaskedLM")]
)
@pytest.mark.parametrize("side", ["right", "left"])
def test_encoder_export_is_an_auto_masked_lm(
    finished_runs: dict[str, Path], arch: str, cls: str, side: str
) -> None:
    folder = finished_runs[arch] / "model"
    ours, tok = load_model(folder)
    hf = AutoModelForMaskedLM.from_pretrained(folder, trust_remote_code=True).eval()
    assert type(hf).__name__ == cls and not hf.training
    batch = _batch(tok, side)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    ids[0, 2] = tok.mask_token_id  # a masked slot reads as any other position
    batch["input_ids"] = ids
    with torch.no_grad():
        theirs = hf(**batch).logits
        expected = ours(ids, mask) if arch == "ltgbert" else _mntp_as_bert(ours, ids, mask)
    real = mask.bool()
    assert torch.allclose(theirs[real], expected[real], atol=1e-5)


def test_gptbert_export_is_an_auto_causal_lm_too(finished_runs: dict[str, Path]) -> None:
    folder = finished_runs["gptbert"] / "model"
    ours, tok = load_model(folder)
    hf = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True).eval()
    assert type(hf).__name__ == "GPTBERTForCausalLM"
    with torch.no_grad():
        for side in ("right", "left"):
            batch = _batch(tok, side)
            real = batch["attention_mask"].bool()
            expected = ours(batch["input_ids"], batch["attention_mask"])
            assert torch.allclose(hf(**batch).logits[real], expected[real], atol=1e-5)
        # Greedy generation (no KV cache) continues as our model's argmax does.
        ids = tok(["the cat"], return_tensors="pt").input_ids
        generated = hf.generate(ids, max_new_tokens=4, do_sample=False, pad_token_id=0)
        manual = ids
        for _ in range(4):
            manual = torch.cat([manual, ours(manual)[:, -1:].argmax(-1)], dim=1)
    assert torch.equal(generated, manual)


def test_hf_losses_follow_the_hf_conventions(finished_runs: dict[str, Path]) -> None:
    masked_dir, hybrid_dir = (finished_runs[a] / "model" for a in ("ltgbert", "gptbert"))
    masked = AutoModelForMaskedLM.from_pretrained(masked_dir, trust_remote_code=True).eval()
    causal = AutoModelForCausalLM.from_pretrained(hybrid_dir, trust_remote_code=True).eval()
    ids = torch.tensor([[2, 10, 11, 12, 3]])
    labels = torch.full_like(ids, -100)
    labels[0, 2] = 11  # BERT style: only the labelled positions count
    with torch.no_grad():
        out = masked(ids, labels=labels)
        assert out.loss.item() == pytest.approx(-out.logits[0, 2].log_softmax(-1)[11].item())
        out = causal(ids, labels=ids)  # GPT style: labels are the inputs, shifted inside
        expected = F.cross_entropy(out.logits[0, :-1], ids[0, 1:])
    assert out.loss.item() == pytest.approx(expected.item())


def test_export_loads_where_trainers_is_not_installed(
    finished_runs: dict[str, Path], tmp_path: Path
) -> None:
    folder = finished_runs["ltgbert"] / "model"
    saved = tmp_path / "logits.pt"
    script = (
        "import sys\n"
        "sys.modules['trainers'] = None  # any import of trainers now fails\n"
        "import torch\n"
        "from transformers import AutoModelForMaskedLM, AutoTokenizer\n"
        f"folder = {str(folder)!r}\n"
        "model = AutoModelForMaskedLM.from_pretrained(folder, trust_remote_code=True).eval()\n"
        "tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)\n"
        "ids = tok(['the cat'], return_tensors='pt').input_ids\n"
        "with torch.no_grad():\n"
        f"    torch.save(model(ids).logits, {str(saved)!r})\n"
    )
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "PYTHONPATH": ""}
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, check=True)
    ours, tok = load_model(folder)
    with torch.no_grad():
        expected = ours(tok(["the cat"], return_tensors="pt").input_ids)
    assert torch.allclose(torch.load(saved), expected, atol=1e-5)


def test_format_1_encoder_exports_still_load(
    finished_runs: dict[str, Path], tmp_path: Path
) -> None:
    """Before format 2, encoder weights were saved without the HF wrapper's ``model.`` prefix."""
    folder = finished_runs["ltgbert"] / "model"
    ours, tok = load_model(folder)
    old = tmp_path / "format1"
    old.mkdir()
    save_model(ours, str(old / "model.safetensors"))
    meta = json.loads((folder / "trainers.json").read_text())
    (old / "trainers.json").write_text(json.dumps({**meta, "format": 1}))
    tok.save_pretrained(old)
    again, _ = load_model(old)
    ids = tok(TEXTS[:1], return_tensors="pt").input_ids
    with torch.no_grad():
        assert torch.equal(again(ids), ours(ids))
    (old / "trainers.json").write_text(json.dumps({**meta, "format": 9}))
    with pytest.raises(ModelLoadError) as info:
        load_model(old)
    assert str(info.value) == (
        f"{old / 'trainers.json'}: export format 9 is not one of (1, 2) "
        "(hint: re-export the run with this version of trainers)"
    )


def test_the_training_docs_example_loads_an_encoder(finished_runs: dict[str, Path]) -> None:
    from tests.recipes.test_docs_examples import block

    folder = finished_runs["ltgbert"] / "model"
    source = block("training.md", "python", 1)
    namespace: dict[str, object] = {}
    exec(source.replace("runs/quickstart/<hash>/<config-hash>/model", str(folder)), namespace)
    assert type(namespace["model"]).__name__ == "LTGBERTForMaskedLM"
    assert namespace["tokenizer"].mask_token_id == 4  # type: ignore[attr-defined]


def test_log_bucket_encoder_round_trips_through_auto_class(
    finished_runs: dict[str, Path], tmp_path: Path
) -> None:
    from trainers.models import build_model, export

    ours, tok = load_model(finished_runs["ltgbert"] / "model")
    args = ours.args.__class__(**{**ours.args.to_dict(), "rel_positions": 7, "rel_buckets": "log"})
    torch.manual_seed(3)
    model = build_model(args).eval()
    export(model, tok, tmp_path / "log")
    assert json.loads((tmp_path / "log" / "config.json").read_text())["rel_buckets"] == "log"
    hf = AutoModelForMaskedLM.from_pretrained(tmp_path / "log", trust_remote_code=True).eval()
    again, _ = load_model(tmp_path / "log")
    ids = torch.randint(5, args.vocab_size, (2, 40))  # distances far past the exact range
    with torch.no_grad():
        assert torch.allclose(hf(ids).logits, model(ids), atol=1e-5)
        assert torch.equal(again(ids), model(ids))


@pytest.mark.parametrize("arch", ["gpt", "ltgbert", "gptbert"])
def test_exports_keep_the_keys_transformers_4_reads(
    finished_runs: dict[str, Path], arch: str
) -> None:
    """transformers 5 writes ``TokenizersBackend`` and keeps RoPE's base in ``rope_parameters``
    only; 4.x (the BabyLM evaluation pipelines) knows neither, and would use a base of 10,000.
    Checked by hand with 4.57.1 (docs/training.md); here, that the keys are written."""
    folder = finished_runs[arch] / "model"
    tok_config = json.loads((folder / "tokenizer_config.json").read_text())
    assert tok_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    config = json.loads((folder / "config.json").read_text())
    if arch == "gpt":
        ours, _ = load_model(folder)
        assert config["rope_theta"] == ours.args.rope_theta
        assert config["rope_parameters"]["rope_theta"] == ours.args.rope_theta
