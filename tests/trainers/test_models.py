"""Models: causality, document masks, the Llama export, the hybrid's two readings, masking."""

from __future__ import annotations

import pytest
import torch

from trainers.models import build_model, from_llama_state, to_llama
from trainers.models.layers import ModelArgs, document_ids, positions_for
from trainers.objectives import IGNORE, causal_targets, make_batch, mask_tokens
from trainers.tokenizer import BOS, MASK


def _model(arch: str, **kw: object) -> torch.nn.Module:
    torch.manual_seed(0)
    args = ModelArgs(
        arch=arch, vocab_size=97, n_layer=2, n_head=4, d_model=32, d_ff=64, block_size=32, **kw
    )  # type: ignore[arg-type]
    return build_model(args).eval()


@pytest.mark.parametrize(("arch", "causal"), [("gpt", True), ("ltgbert", False), ("gptbert", True)])
def test_future_tokens_change_past_logits_only_when_bidirectional(arch: str, causal: bool) -> None:
    model = _model(arch)
    ids = torch.randint(5, 97, (2, 12))
    changed = ids.clone()
    changed[:, 9] = (changed[:, 9] + 1 - 5) % 92 + 5
    with torch.no_grad():
        a, b = model(ids), model(changed)
    assert a.shape == (2, 12, 97)
    assert torch.equal(a[:, :9], b[:, :9]) is causal


def test_gptbert_bidirectional_reading_sees_the_future() -> None:
    model = _model("gptbert")
    ids = torch.randint(5, 97, (1, 12))
    changed = ids.clone()
    changed[0, 9] = 5 if ids[0, 9] != 5 else 6
    with torch.no_grad():
        assert not torch.equal(model(ids, causal=False)[:, :9], model(changed, causal=False)[:, :9])
        per_sample = model(ids.repeat(2, 1), causal=torch.tensor([True, False]))
        assert torch.allclose(per_sample[0], model(ids)[0], atol=1e-6)
        assert torch.allclose(per_sample[1], model(ids, causal=False)[0], atol=1e-6)


@pytest.mark.parametrize("arch", ["gpt", "ltgbert", "gptbert"])
def test_document_mask_makes_each_document_independent(arch: str) -> None:
    model = _model(arch)
    first, second = [BOS, 10, 11, 12, 3], [BOS, 20, 21, 22, 23, 3]
    ids = torch.tensor([first + second])
    with torch.no_grad():
        packed = model(ids, doc_ids=document_ids(ids, BOS))
        alone = model(torch.tensor([second]))
    assert torch.allclose(packed[0, len(first) :], alone[0], atol=1e-5)


def test_positions_restart_per_document_and_skip_left_padding() -> None:
    ids = torch.tensor([[7, BOS, 8, 9, BOS, 5]])
    assert positions_for(ids, None, document_ids(ids, BOS)).tolist() == [[0, 0, 1, 2, 0, 1]]
    pad = torch.tensor([[0, 0, 1, 1, 1, 1]])
    assert positions_for(ids, pad, None).tolist() == [[0, 0, 0, 1, 2, 3]]


@pytest.mark.parametrize(("tie", "theta"), [(True, 10_000.0), (False, 500.0)])
def test_llama_export_gives_identical_logits(tie: bool, theta: float) -> None:
    model = _model("gpt", tie_embeddings=tie, rope_theta=theta)
    hf = to_llama(model)
    ids = torch.randint(5, 97, (2, 16))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        assert torch.equal(model(ids), hf(ids).logits)
        assert torch.allclose(model(ids, mask), hf(ids, attention_mask=mask).logits, atol=1e-6)
    back = _model("gpt", tie_embeddings=tie, rope_theta=theta)
    back.load_state_dict(from_llama_state(hf.state_dict(), model.args))
    with torch.no_grad():
        assert torch.equal(back(ids), model(ids))


def test_causal_targets_never_cross_into_the_next_document() -> None:
    blocks = torch.tensor([[BOS, 10, 11, 3, BOS, 12, 13]])
    inputs, targets = causal_targets(blocks)
    assert inputs.tolist() == [[BOS, 10, 11, 3, BOS, 12]]
    assert targets.tolist() == [[10, 11, 3, IGNORE, 12, 13]]


def test_masking_spares_special_tokens_and_hits_the_rate() -> None:
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 500, (64, 128))
    ids[:, ::10] = BOS
    corrupted, mask = mask_tokens(ids, 0.15, 3, 500, gen)
    assert not mask[ids == BOS].any()
    assert 0.11 < mask[ids != BOS].float().mean().item() < 0.16
    assert torch.equal(corrupted[~mask], ids[~mask])
    share_mask = (corrupted[mask] == MASK).float().mean().item()
    assert 0.75 < share_mask < 0.85


def test_hybrid_batch_mixes_objectives_at_the_exact_ratio() -> None:
    gen = torch.Generator().manual_seed(0)
    blocks = torch.randint(5, 90, (32, 17))
    batch = make_batch(
        blocks,
        "hybrid",
        first_sample=0,
        causal_fraction=0.25,
        mask_rate=0.3,
        mask_span=1,
        n_vocab=90,
        gen=gen,
    )
    assert batch.causal is not None
    assert batch.causal.tolist() == [i % 4 == 3 for i in range(32)]
    causal_rows = batch.causal.nonzero().flatten()
    assert torch.equal(batch.targets[causal_rows], blocks[causal_rows, 1:])
    masked = (~batch.causal).nonzero().flatten()
    hidden = batch.inputs[masked] != blocks[masked, :-1]  # corrupted positions
    target_at = batch.targets[masked] != IGNORE  # predicted one position earlier
    assert (hidden[:, 1:] <= target_at[:, :-1]).all()  # every corrupted token is predicted
    assert not target_at[:, -1].any()  # the last position has no next token to predict
    assert torch.equal(
        batch.targets[masked][:, :-1][target_at[:, :-1]], blocks[masked, 1:-1][target_at[:, :-1]]
    )


def _deberta_buckets(distances: torch.Tensor, bucket_size: int, max_position: int) -> torch.Tensor:
    """DeBERTa-v2's make_log_bucket_position (as LTG-BERT uses it), written from its formula.

    In float64: the original runs in float32, where the longest distance can round one bucket
    past the table (ratio 1 + ε, ceil(mid - 1 + ε) = mid) for some block sizes (128, here).
    """
    sign = torch.sign(distances)
    mid = bucket_size // 2
    near = (distances < mid) & (distances > -mid)
    abs_pos = torch.where(near, torch.tensor(mid - 1), distances.abs()).double()
    ratio = torch.log(abs_pos / mid) / torch.log(
        torch.tensor((max_position - 1) / mid, dtype=torch.float64)
    )
    log_pos = torch.ceil(ratio * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, distances.double(), log_pos * sign).long()


@pytest.mark.parametrize(("R", "block"), [(31, 512), (31, 128), (15, 256), (7, 64)])
def test_log_buckets_are_deberta_ltgbert_buckets(R: int, block: int) -> None:  # noqa: N803
    from trainers.models.ltgbert import relative_index

    idx = relative_index(block, R, "log", block, torch.device("cpu"))[0, 0]  # (T, T)
    distance = torch.arange(block)[None, :] - torch.arange(block)[:, None]
    expected = _deberta_buckets(distance, R + 1, block)
    assert torch.equal(idx - R, expected)
    # Exact up to mid, symmetric, never decreasing with distance, the longest one on R.
    row = (idx[0] - R).tolist()  # distances 0..block-1
    mid = (R + 1) // 2
    assert row[: mid + 1] == list(range(mid + 1))
    assert row == sorted(row) and row[-1] == R
    assert torch.equal(idx - R, -(idx - R).T)


def test_log_buckets_only_change_long_distances() -> None:
    # Up to mid = 4 both schemes give every distance its own embedding; past R = 7 clip repeats
    # the last one while log buckets keep telling distances apart.
    clip, log = _model("ltgbert", rel_positions=7), _model("ltgbert", rel_positions=7)
    log = build_model(ModelArgs(**{**clip.args.to_dict(), "rel_buckets": "log"})).eval()
    log.load_state_dict(clip.state_dict())
    with torch.no_grad():
        short = torch.randint(5, 97, (1, 5))
        assert torch.equal(clip(short), log(short))
        long = torch.randint(5, 97, (1, 30))
        assert not torch.allclose(clip(long), log(long))
