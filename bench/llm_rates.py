"""Prefill and decode rates of the bundled SmolLM2-135M GGUF through llama-cpp-python, and
table-build throughput under worker x thread settings.

    python bench/llm_rates.py rates --out results/bench_llm_rates.json
    python bench/llm_rates.py contention --out results/bench_llm_contention.json
    python bench/llm_rates.py all --out results/bench_llm.json        # both, ~4-6 min
    python bench/llm_rates.py profile --out results/bench_llm_profile.json  # rates + profile
    python bench/llm_rates.py profile --from results/bench_llm_profile.json # print it again
    nice -n 10 python bench/llm_rates.py all --quick --out /tmp/x.csv  # smoke test, ~1 min

``rates``: prefill tokens/s (prompts of 64/256/512 tokens, one ``llama_decode`` batch
each) and decode tokens/s (128 greedy tokens after a 64-token prompt, EOS ignored) at
batch 1 with 1 and 2 llama.cpp threads; then C = 2, 3 and 4 (``--concurrency``)
concurrent generations, each in its own process with cores / C threads (at least 1)
(llama-cpp-python's ``Llama`` has no multi-sequence generation; a llama.cpp server with C
slots batches them in one process instead), which gives the per-request prefill and
decode rates with C batch slots busy on this machine's cores. Tokens are counted with the
model's own tokenizer.

``profile``: ``rates``, then a serving profile (issue 15) as YAML (``--format json`` for
JSON) that a config can paste: per-sequence prefill and decode tokens/s with 1..C
generations at once (1 = batch 1 on min(cores, 2) threads, the prompt of
``--prompt-lens``' first length), and where the numbers come from. ``--from FILE`` prints
the profile of a JSON results file written by ``rates``/``profile``/``all`` without
measuring again.

``contention``: what a table build does. W worker processes, each with a ``Llama`` of T
threads, generate at once (a 60-token prompt, the size of an expert's chat prompt, then
64 greedy tokens, ``--gens`` times each), for W x T in {1x1, 1x2, 2x1, 2x2}, with
llama.cpp's prompt threads (``n_threads_batch``) left at llama-cpp-python's default (all
cores, what the shipped table was built with) or set to T, and libgomp's wait policy
left at its default (spin, then sleep) or ``OMP_WAIT_POLICY=PASSIVE``. Every
measurement runs in a fresh spawned process, so the OpenMP settings are in place before
the library loads.

``--out`` ends in ``.csv`` (one row per measurement) or anything else (JSON, with the
machine's load average and settings). Repetitions give a median and a range.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Deterministic filler from which prompts of an exact token length are cut.
_FILLER = (
    "The harbour town woke slowly. Fishing boats rocked against the pier while gulls "
    "argued over the morning catch, and the baker on the corner pulled trays of bread "
    "from an oven older than anyone could remember. A radio in the cafe reported rain "
    "moving in from the west, wind at twenty knots, and a ferry delayed by an hour. "
)
_EXPERT = "You are a creative writer. Write vivid, concrete prose with characters and places."
_CORES = os.cpu_count() or 1


@dataclass(frozen=True)
class Job:
    """What one child process measures.

    :param kind: ``rates`` (prefill lengths and a decode run per repetition), ``gen``
        (``gens`` generations of ``prompt`` + ``decode`` tokens, timed one by one) or
        ``pipeline`` (``gens`` chat completions through this checkout's
        ``LlamaCppBackend``, up to ``decode`` tokens, as a table build calls it).
    :param threads: llama.cpp threads for single-token decode (``n_threads``).
    :param batch_threads: threads for prompt batches (``n_threads_batch``); 0 = leave
        llama-cpp-python's default (all cores).
    :param omp: ``default`` (no ``OMP_WAIT_POLICY``) or ``passive``.
    """

    kind: str
    threads: int
    batch_threads: int = 0
    omp: str = "default"
    prompt_lens: tuple[int, ...] = (64, 256, 512)
    prompt: int = 60
    decode: int = 128
    reps: int = 5
    gens: int = 3


def _child(job: Job, barrier: Any, out: Any) -> None:
    """Runs in a spawned process: load the model, warm up, wait for the others, measure."""
    os.environ.pop("OMP_WAIT_POLICY", None)
    if job.omp == "passive":
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    import numpy as np

    from llm_pipeline.backends import bundled_gguf

    if job.kind == "pipeline":  # this checkout's backend, settings and all (llama.cpp
        # loads inside it, after its own OpenMP setting, as in a table build's worker)
        from llm_pipeline.backends import LlamaCppBackend
        from llm_pipeline.messages import expert_messages

        backend = LlamaCppBackend(n_threads=job.threads)
        msgs = expert_messages(_EXPERT, "Describe the harbour town waking up at dawn.")
        backend.generate(msgs, max_tokens=4)
        llm = backend._llm
    else:
        from llama_cpp import Llama

        kw: dict[str, Any] = {"n_threads": job.threads}
        if job.batch_threads:
            kw["n_threads_batch"] = job.batch_threads
        llm = Llama(model_path=str(bundled_gguf()), n_ctx=1024, n_batch=512, verbose=False, **kw)
    tokens = llm.tokenize((_FILLER * 12).encode(), add_bos=True)
    n_vocab = llm.n_vocab()

    def prefill(n: int) -> float:
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(tokens[:n])
        return time.perf_counter() - t0

    def decode(n: int) -> float:
        """``n`` greedy steps after what is in the cache (argmax of llama.cpp's logits)."""
        t0 = time.perf_counter()
        for _ in range(n):
            logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(n_vocab,))
            llm.eval([int(logits.argmax())])
        return time.perf_counter() - t0

    prefill(16), decode(4)  # warm-up: first-touch of the weights, OpenMP team start
    res: dict[str, Any] = {"prefill_s": {}, "decode_s": [], "gen_s": [], "gen_prefill_s": []}
    barrier.wait(timeout=600)
    t_start = time.perf_counter()
    if job.kind == "pipeline":
        for k in range(job.gens):
            t0 = time.perf_counter()
            g = backend.generate(msgs, max_tokens=job.decode, temperature=0.7, seed=k)
            res["gen_s"].append(time.perf_counter() - t0)
            res["tokens"] = res.get("tokens", 0) + len(llm.tokenize(g.text.encode(), False))
    elif job.kind == "rates":
        for _ in range(job.reps):
            for n in job.prompt_lens:
                res["prefill_s"].setdefault(str(n), []).append(prefill(n))
            prefill(job.prompt_lens[0])
            res["decode_s"].append(decode(job.decode))
    else:
        for _ in range(job.gens):
            t0 = time.perf_counter()
            res["gen_prefill_s"].append(prefill(job.prompt))
            res["decode_s"].append(decode(job.decode))
            res["gen_s"].append(time.perf_counter() - t0)
    res["wall_s"] = time.perf_counter() - t_start
    out.put(res)


def _run(jobs: list[Job], timeout: float = 900.0) -> list[dict[str, Any]]:
    """Start one process per job, release them together, collect their results."""
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(len(jobs)), ctx.Queue()
    procs = [ctx.Process(target=_child, args=(j, barrier, out)) for j in jobs]
    for p in procs:
        p.start()
    try:
        results = [out.get(timeout=timeout) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
    return results


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


@dataclass
class Row:
    """One line of the table and the CSV."""

    mode: str
    setting: str
    measure: str
    n: int
    median: float
    min: float
    max: float
    unit: str = "tokens/s"
    extra: dict[str, Any] = field(default_factory=dict)


def measure_rates(a: argparse.Namespace) -> list[Row]:
    lens = tuple(a.prompt_lens)
    rows: list[Row] = []
    for t in (1, 2):
        job = Job("rates", t, t, a.omp_rates, lens, decode=a.decode, reps=a.reps)
        (r,) = _run([job])
        for n in lens:
            rs = [n / s for s in r["prefill_s"][str(n)]]
            tag = {"slots": 1, "threads": t, "role": "prefill", "prompt_tokens": n}
            rows.append(
                Row(
                    "rates",
                    f"batch 1, {t} thread(s)",
                    f"prefill {n} tok",
                    a.reps,
                    **_stats(rs),
                    extra=tag,
                )
            )
        rs = [a.decode / s for s in r["decode_s"]]
        tag = {"slots": 1, "threads": t, "role": "decode", "prompt_tokens": lens[0]}
        rows.append(
            Row(
                "rates",
                f"batch 1, {t} thread(s)",
                f"decode {a.decode} tok",
                a.reps,
                **_stats(rs),
                extra=tag,
            )
        )
    for c in a.concurrency:
        tc = max(1, _CORES // c)
        job = Job("gen", tc, tc, a.omp_rates, prompt=lens[0], decode=a.decode, gens=a.gens)
        jobs = [job] * c
        res = _run(jobs)
        per = [a.decode / s for r in res for s in r["decode_s"]]
        pre = [lens[0] / s for r in res for s in r["gen_prefill_s"]]
        wall = max(r["wall_s"] for r in res)
        agg = c * a.gens * a.decode / wall
        setting = f"{c} concurrent (processes x {tc} thread(s))"
        tag = {"slots": c, "threads": tc, "prompt_tokens": lens[0]}
        extra = {"aggregate_tokens_per_s": round(agg, 1), "role": "decode", **tag}
        rows.append(
            Row(
                "rates",
                setting,
                f"decode {a.decode} tok, per request",
                len(per),
                **_stats(per),
                extra=extra,
            )
        )
        rows.append(
            Row(
                "rates",
                setting,
                f"prefill {lens[0]} tok, per request",
                len(pre),
                **_stats(pre),
                extra={"role": "prefill", **tag},
            )
        )
    return rows


def serving_profile(rows: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    """A serving profile from ``rates`` rows (dicts as in the JSON file): per-sequence
    prefill and decode medians (tokens/s) by the number of concurrent generations."""
    rates = [r for r in rows if r["mode"] == "rates" and "role" in r.get("extra", {})]
    if not rates:
        raise SystemExit("no tagged `rates` rows (run `rates`, `profile` or `all` first)")
    first = min(r["extra"]["prompt_tokens"] for r in rates)
    one = max(r["extra"]["threads"] for r in rates if r["extra"]["slots"] == 1)
    by: dict[int, dict[str, float]] = {}
    for r in rates:
        x = r["extra"]
        if x["prompt_tokens"] != first or (x["slots"] == 1 and x["threads"] != one):
            continue
        by.setdefault(x["slots"], {})[f"{x['role']}_tokens_per_s"] = round(r["median"], 1)
    slots = sorted(by)
    roles = ("prefill_tokens_per_s", "decode_tokens_per_s")
    by = {c: {k: by[c][k] for k in roles if k in by[c]} for c in slots}
    load = meta.get("loadavg_before", [float("nan")])[0]
    busy = f"; BUSY MACHINE (load {load:.2f} on {meta.get('cores')} cores): re-run quiet" * (
        load > 0.75 * (meta.get("cores") or 1)
    )
    return {
        "prefill_tokens_per_s": by[1]["prefill_tokens_per_s"],
        "decode_tokens_per_s": by[1]["decode_tokens_per_s"],
        "batch_slots": max(slots),
        "per_sequence_by_concurrency": {c: by[c] for c in slots},
        "source": (
            f"measured: bench/llm_rates.py, {meta.get('date', '?')}, commit "
            f"{meta.get('commit', '?')}, {meta.get('cores')} cores, load average {load:.2f} "
            f"at the start; bundled SmolLM2-135M-Instruct Q4_1 via llama-cpp-python "
            f"{meta.get('llama_cpp_python', '?')}; prompt {first} tokens; 1 generation on "
            f"{one} thread(s), C at once as C processes x max(1, cores // C) threads; medians"
            f"{busy}"
        ),
    }


def print_profile(profile: dict[str, Any], fmt: str, name: str = "measured_smollm2") -> None:
    if fmt == "json":
        print(json.dumps({"profiles": {name: profile}}, indent=1))
        return
    import yaml

    print("# paste under the serving config (issue 15); rates are tokens/s per sequence")
    text = yaml.safe_dump(
        {"profiles": {name: profile}}, sort_keys=False, width=100, default_flow_style=None
    )
    print(text, end="")


# (W, T, n_threads_batch): 0 = llama-cpp-python's default (all cores).
_LAYOUTS = [(1, 1, 0), (1, 1, 1), (1, 2, 2), (2, 1, 0), (2, 1, 1), (2, 2, 2)]


def measure_contention(a: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for omp in ("default", "passive"):
        for w, t, tb in _LAYOUTS:
            job = Job("gen", t, tb, omp, prompt=a.prompt, decode=a.gen_decode, gens=a.gens)
            res = _run([job] * w)
            gen_s = [s for r in res for s in r["gen_s"]]
            wall = max(r["wall_s"] for r in res)
            tbn = tb or _CORES
            setting = f"{w}x{t} (batch threads {tbn}{'' if tb else ' default'}), omp {omp}"
            per = [a.gen_decode / s for r in res for s in r["decode_s"]]
            extra = {
                "workers": w,
                "threads": t,
                "batch_threads": tbn,
                "omp": omp,
                "gen_s_median": round(statistics.median(gen_s), 3),
                "prefill_s_median": round(
                    statistics.median([s for r in res for s in r["gen_prefill_s"]]), 3
                ),
                "gens_per_min": round(60 * len(gen_s) / wall, 1),
                "aggregate_decode_tokens_per_s": round(w * a.gens * a.gen_decode / wall, 1),
            }
            rows.append(
                Row(
                    "contention", setting, "decode per worker", len(per), **_stats(per), extra=extra
                )
            )
            print(_fmt(rows[-1]), flush=True)
    for w in (1, 2):  # what `netmoe table build --workers W` runs now: cores // W threads
        t = max(1, _CORES // w)
        res = _run([Job("pipeline", t, decode=a.gen_decode, gens=a.gens)] * w)
        gen_s = [s for r in res for s in r["gen_s"]]
        wall = max(r["wall_s"] for r in res)
        extra = {
            "workers": w,
            "threads": t,
            "gens_per_min": round(60 * len(gen_s) / wall, 1),
            "aggregate_tokens_per_s": round(sum(r["tokens"] for r in res) / wall, 1),
        }
        omp = os.environ.get("OMP_WAIT_POLICY", "passive").lower()  # the backend's default
        setting = f"{w}x{t} LlamaCppBackend (this checkout), omp {omp}"
        rows.append(
            Row(
                "contention",
                setting,
                "s per chat completion",
                len(gen_s),
                **_stats(gen_s),
                unit="s",
                extra=extra,
            )
        )
        print(_fmt(rows[-1]), flush=True)
    return rows


def _fmt(r: Row) -> str:
    hidden = ("workers", "threads", "batch_threads", "omp", "slots", "role", "prompt_tokens")
    x = "  ".join(f"{k}={v}" for k, v in r.extra.items() if k not in hidden)
    rng = f"[{r.min:6.1f}-{r.max:6.1f}]"
    return f"{r.setting:<52} {r.measure:<34} {r.median:7.1f} {rng} {r.unit:<8} {x}"


def _commit() -> str:
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except OSError:
        return "?"
    return out.stdout.strip() or "?"


def _llama_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama-cpp-python")
    except PackageNotFoundError:
        return "?"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["rates", "contention", "all", "profile"])
    p.add_argument("--out", type=Path, help="results file: .csv, otherwise JSON")
    p.add_argument("--reps", type=int, default=5, help="repetitions per rate")
    p.add_argument("--prompt-lens", type=int, nargs="+", default=[64, 256, 512])
    p.add_argument("--decode", type=int, default=128, help="decode tokens per rate run")
    p.add_argument(
        "--gens", type=int, default=3, help="generations per process (concurrent, contention)"
    )
    p.add_argument(
        "--prompt", type=int, default=60, help="prompt tokens per generation (contention)"
    )
    p.add_argument(
        "--gen-decode", type=int, default=64, help="decode tokens per generation (contention)"
    )
    p.add_argument(
        "--omp-rates",
        choices=["default", "passive"],
        default="default",
        help="OpenMP wait policy for `rates`",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[2, 3, 4],
        help="concurrent generations measured by `rates` (besides batch 1)",
    )
    p.add_argument("--format", choices=["yaml", "json"], default="yaml", help="profile output")
    p.add_argument(
        "--from", dest="from_file", type=Path, help="profile: print it from this JSON results file"
    )
    p.add_argument("--quick", action="store_true", help="tiny settings for a smoke test")
    a = p.parse_args()
    if a.from_file:
        if a.mode != "profile":
            p.error("--from goes with `profile`")
        data = json.loads(a.from_file.read_text())
        print_profile(serving_profile(data["rows"], data["meta"]), a.format)
        return 0
    if a.quick:
        a.reps, a.prompt_lens, a.decode, a.gens, a.gen_decode = 1, [32, 64], 16, 1, 16
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # children find llm_pipeline
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    rows: list[Row] = []
    if a.mode in ("rates", "all", "profile"):
        rows += measure_rates(a)
    if a.mode in ("contention", "all"):
        rows += measure_contention(a)
    print(f"\n{'setting':<52} {'measure':<34} {'median':>7} [range]         unit")
    for r in rows:
        print(_fmt(r))
    meta = {
        "cores": _CORES,
        "loadavg_before": load0,
        "loadavg_after": os.getloadavg(),
        "seconds": round(time.perf_counter() - t0, 1),
        "python": platform.python_version(),
        "quiet_marker": os.path.exists("/tmp/quiet"),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "commit": _commit(),
        "llama_cpp_python": _llama_version(),
        "args": {k: v for k, v in vars(a).items() if k != "out"},
    }
    print(f"\nload average before {load0}, after {meta['loadavg_after']}; {meta['seconds']} s")
    if a.mode in ("profile", "all"):
        print()
        print_profile(serving_profile([asdict(r) for r in rows], meta), a.format)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        if a.out.suffix == ".csv":
            with a.out.open("w", newline="") as f:
                wr = csv.DictWriter(f, fieldnames=[*Row.__dataclass_fields__, "loadavg_before"])
                wr.writeheader()
                for r in rows:
                    wr.writerow(
                        {**asdict(r), "extra": json.dumps(r.extra), "loadavg_before": load0[0]}
                    )
        else:
            a.out.write_text(
                json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=1)
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
