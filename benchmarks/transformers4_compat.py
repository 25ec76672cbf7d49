"""Do our exports load where transformers 4.x runs? (The BabyLM evaluation pipelines pin 4.x.)

Exports tiny random models of every arch with this environment's transformers (5.x), then loads
each folder in another Python, one with transformers 4.x installed, through the Auto classes only
(no ``trainers`` import there), and compares logits with the trainer's module. Prints a table.

    python -m venv --system-site-packages /tmp/venv4
    /tmp/venv4/bin/pip install "transformers==4.57.1"
    python benchmarks/transformers4_compat.py --python /tmp/venv4/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.evaluate.helpers import OWN_TEXT, save_trainer_export  # noqa: E402

VARIANTS = [  # (name, arch, extra ModelArgs fields)
    ("gpt", "gpt", {"rope_theta": 500_000.0}),
    ("ltgbert", "ltgbert", {}),
    ("ltgbert-log", "ltgbert", {"rel_positions": 7, "rel_buckets": "log"}),
    ("gptbert", "gptbert", {}),
]

# Runs in the other Python: Auto classes only, then the same checks for every folder.
CHECK = r"""
import json, sys, torch, transformers
from pathlib import Path
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer
rows = []
for folder in map(Path, sys.argv[1:]):
    want = torch.load(folder / "expected.pt")
    kind = json.loads((folder / "trainers.json").read_text())["args"]["arch"]
    try:
        tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
        batch = tok(want["texts"], padding=True, return_tensors="pt")
        same_ids = "yes" if batch.input_ids.equal(want["ids"]) else "NO"
    except Exception as exc:  # the failure is the finding: report it, check the model anyway
        same_ids = f"NO ({type(exc).__name__})"
    auto = AutoModelForCausalLM if kind == "gpt" else AutoModelForMaskedLM
    model = auto.from_pretrained(folder, trust_remote_code=True).eval()
    real = want["mask"].bool()
    with torch.no_grad():
        got = model(input_ids=want["ids"], attention_mask=want["mask"]).logits
        ok = torch.allclose(got[real], want["logits"][real], atol=1e-5)
        if kind == "gptbert":
            causal = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True).eval()
            got = causal(input_ids=want["ids"], attention_mask=want["mask"]).logits
            ok = ok and torch.allclose(got[real], want["causal"][real], atol=1e-5)
    rows.append([folder.name, type(model).__name__, same_ids, "yes" if ok else "NO"])
print(json.dumps({"version": transformers.__version__, "rows": rows}))
"""


def export_variant(root: Path, name: str, arch: str, extra: dict) -> Path:
    folder = root / name
    model, tok = save_trainer_export(folder, arch, OWN_TEXT * 5, **extra)
    texts = ["the cat sees a song .", "a dog"]
    batch = tok(texts, padding=True, return_tensors="pt")
    ids, mask = batch.input_ids, batch.attention_mask
    with torch.no_grad():
        if arch != "gptbert":
            logits, causal = model(ids, mask), None
        else:  # the HF masked class reads GPT-BERT one position right (see hf_encoder.py)
            mntp = model(ids, mask, causal=False)
            logits, causal = torch.cat([mntp[:, :1], mntp[:, :-1]], dim=1), model(ids, mask)
    expected = {"texts": texts, "ids": ids, "mask": mask, "logits": logits, "causal": causal}
    torch.save(expected, folder / "expected.pt")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", required=True, help="a Python with transformers 4.x")
    args = parser.parse_args()
    import transformers

    with tempfile.TemporaryDirectory() as tmp:
        folders = [export_variant(Path(tmp), *v) for v in VARIANTS]
        env = {**os.environ, "HF_MODULES_CACHE": str(Path(tmp) / "modules"), "PYTHONPATH": ""}
        out = subprocess.run(
            [args.python, "-c", CHECK, *map(str, folders)],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"exported with transformers {transformers.__version__}, loaded with {result['version']}")
    print("| export | class | same token ids | same logits |\n|---|---|---|---|")
    for name, cls, same_ids, ok in result["rows"]:
        print(f"| {name} | {cls} | {same_ids} | {ok} |")


if __name__ == "__main__":
    main()
