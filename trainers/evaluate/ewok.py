"""EWoK items built at run time from the password-protected config zip, never written out.

EWoK's terms forbid redistributing it in plain text, so the zip's members are read into memory
(``zipfile`` with the password) and the items live only in this process. The generator is a
compact re-implementation of ewok-core/ewok-paper's compile step, not a byte-identical copy of
ewok-core-1.0: for each concept pair (A, B) and each context probe, Context1/Context2 fill the
probe's segments with A's/B's wording; a target of the same domain whose criteria both concepts
meet and whose variables the context binds gives Target1/Target2 (the concepts' word forms);
variables (``[agent1]``, ``[material1:transparent=true]``) take one filler row meeting every
constraint, chosen with a seeded RNG. Each item is scored twice (as BabyLM does):
log P(Target1 | Context1) > log P(Target1 | Context2), and the same for Target2.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import re
import zipfile
from pathlib import Path
from typing import Any

import yaml

from corpuskit.datapaths import resolve_pattern
from trainers.evaluate.errors import EwokError
from trainers.evaluate.tasks import Pair, TaskSpec

PASSWORD = b"ewok"  # published in EWoK's terms of use; the zip is only an anti-crawling guard
VARIABLE = re.compile(r"\[([A-Za-z]+)(\d*)(?::([^\]=]+)=([^\]]+))?\]")
GENERATOR_SEED = 0


def read_config(path: Path, password: bytes = PASSWORD) -> dict[str, Any]:
    """Concepts, targets, contexts (parsed YAML) and filler tables, from the zip in memory."""
    if not path.is_file():
        raise EwokError("EWoK config zip not found", location=str(path))
    try:
        archive = zipfile.ZipFile(path)
        archive.setpassword(password)
        members = {n: archive.read(n) for n in archive.namelist() if not n.endswith("/")}
    except RuntimeError as exc:  # zipfile says "Bad password for file ..."
        raise EwokError(f"cannot decrypt the EWoK config ({exc})", location=str(path)) from None
    except zipfile.BadZipFile as exc:
        raise EwokError(f"not a readable zip ({exc})", location=str(path)) from None
    config: dict[str, Any] = {"concepts": {}, "targets": {}, "contexts": [], "fillers": {}}
    for name, blob in sorted(members.items()):
        base = name.rsplit("/", 1)[-1]
        if base.endswith(".spec.yml") or not base.endswith((".yml", ".csv")):
            continue
        if base.startswith("filler-"):
            text = blob.decode("utf-8-sig")
            config["fillers"][base[7:-4]] = list(csv.DictReader(io.StringIO(text)))
        elif base.startswith("concept-"):
            for c in yaml.safe_load(blob) or []:
                config["concepts"][c["concept"]] = c
        elif base.startswith("target-"):
            for domain, targets in (yaml.safe_load(blob) or {}).items():
                config["targets"].setdefault(domain, []).extend(targets)
        elif base.startswith("context-"):
            domain = base.removeprefix("context-").removesuffix(".yml")  # targets use file domains
            config["contexts"].extend((domain, e) for e in yaml.safe_load(blob) or [])
    return config


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _meets(a: dict[str, Any], b: dict[str, Any], criteria: list[str]) -> bool:
    """ewok's rule: no criteria, or some criterion that both concepts have set true."""

    def has(concept: dict[str, Any], c: str) -> bool:
        return concept.get(c) is True or concept.get(c.replace("-", "_")) is True

    return not criteria or any(has(a, c) and has(b, c) for c in criteria)


def _form(concept: dict[str, Any], tags: list[str]) -> str:
    for tag in tags:
        if isinstance(concept.get(tag), str):
            return concept[tag]
    return str(concept["concept"])


def _fill_segments(pattern: str, segments: list[dict[str, Any]], side: str) -> str:
    values = [v for seg in segments for v in _as_list(seg[side])]
    for i, value in enumerate(values, 1):
        pattern = pattern.replace(f"{{segment{i}}}", str(value))
    return pattern


def _variables(text: str) -> dict[str, list[tuple[str, str]]]:
    """Variable id (``agent1``) → its constraints ``[(column, value)]`` in ``text``."""
    found: dict[str, list[tuple[str, str]]] = {}
    for base, index, column, value in VARIABLE.findall(text):
        found.setdefault(base + index, [])
        if column:
            found[base + index].append((column.strip(), value.strip().lower()))
    return found


def _bind(
    variables: dict[str, list[tuple[str, str]]],
    fillers: dict[str, list[dict[str, str]]],
    rng: random.Random,
) -> dict[str, str] | None:
    """One distinct filler per variable meeting its constraints; None when impossible."""
    bound: dict[str, str] = {}
    for var in sorted(variables):
        table = fillers.get(re.sub(r"\d+$", "", var), [])
        options = [
            row["item"]
            for row in table
            if all(str(row.get(col, "")).strip().lower() == val for col, val in variables[var])
            and row["item"] not in bound.values()
        ]
        if not options:
            return None
        bound[var] = rng.choice(sorted(options))
    return bound


def _render(text: str, bound: dict[str, str]) -> str:
    text = VARIABLE.sub(lambda m: bound[m.group(1) + m.group(2)], text).strip()
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def build_items(config: dict[str, Any]) -> list[dict[str, str]]:
    """Items with Context1, Context2, Target1, Target2, Domain (deterministic)."""
    items = []
    for domain, entry in config["contexts"]:
        a, b = config["concepts"].get(entry["conceptA"]), config["concepts"].get(entry["conceptB"])
        if a is None or b is None:
            continue
        for n, probe in enumerate(entry.get("probes") or []):
            c1 = _fill_segments(probe["pattern"], probe["segments"], "segmentA")
            c2 = _fill_segments(probe["pattern"], probe["segments"], "segmentB")
            context_vars = set(_variables(c1)) | set(_variables(c2))
            for k, target in enumerate(config["targets"].get(domain, [])):
                if not _meets(a, b, _as_list(target.get("criteria"))):
                    continue
                tags = [t for t in _as_list(target.get("tags")) if isinstance(t, str)]
                t1 = target["pattern"].replace("{CONCEPT}", _form(a, tags))
                t2 = target["pattern"].replace("{CONCEPT}", _form(b, tags))
                if not set(_variables(t1)) <= context_vars or "{" in c1 + c2 + t1 + t2:
                    continue
                label = f"{entry['conceptA']}|{entry['conceptB']}|{n}|{k}"
                seed = int(
                    hashlib.sha256(f"{GENERATOR_SEED}:{label}".encode()).hexdigest()[:12], 16
                )
                variables: dict[str, list[tuple[str, str]]] = {}
                for text in (c1, c2, t1, t2):
                    for var, cons in _variables(text).items():
                        variables.setdefault(var, []).extend(cons)
                bound = _bind(variables, config["fillers"], random.Random(seed))
                if bound is None:
                    continue
                items.append(
                    {
                        "Context1": _render(c1, bound),
                        "Context2": _render(c2, bound),
                        "Target1": _render(t1, bound),
                        "Target2": _render(t2, bound),
                        "Domain": domain,
                        "ConceptA": entry["conceptA"],
                        "ConceptB": entry["conceptB"],
                    }
                )
    return items


def load_ewok_pairs(
    spec: TaskSpec, data_root: Path | None, *, limit: int | None = None
) -> list[Pair]:
    """Two pairs per item (each target under its own vs the other context); ``limit`` per domain."""
    path = Path(resolve_pattern(spec.files[0], data_root))
    items = build_items(read_config(path))
    pairs: list[Pair] = []
    seen: dict[str, int] = {}
    for item in items:
        domain = item["Domain"]
        seen[domain] = seen.get(domain, 0) + 1
        if limit is not None and seen[domain] > limit:
            continue
        groups = {"Domain": domain}
        pairs.append(
            Pair(item["Target1"], item["Target1"], item["Context1"], item["Context2"], groups)
        )
        pairs.append(
            Pair(item["Target2"], item["Target2"], item["Context2"], item["Context1"], groups)
        )
    return pairs
