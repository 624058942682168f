"""`netmoe table ...`: build or inspect the quality table.

Kept import-light: heavy modules load inside ``run``. Paths typed here (``--config``,
``--out``, ``info PATH``) are relative to the current directory; paths inside a config
file resolve from the file's directory (or its ``base_dir``, relative to the file).

    netmoe table build --config configs/table_default.yaml [--out PATH] [--workers W]
        [--executor ray [--ray-address HOST:PORT]]
    netmoe table info [PATH]          (alias: check)
    netmoe table margin [PATH] [--boot N] [--seed S]
    netmoe table tokens [--table PATH] [--config X] [--out PATH] [--recount]
    netmoe table validate-judge [--judge offline-minilm-v3|offline-minilm-lm-v4] [--set PATH]
    netmoe table check-backend --config X [--backend NAME]
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``build``, ``info`` (``check``), ``margin``, ``tokens``, ``validate-judge`` and
    ``check-backend`` sub-subcommands."""
    sub = parser.add_subparsers(dest="table_command", required=True)
    b = sub.add_parser("build", help="generate, judge and write a quality table (resumable)")
    b.add_argument("--config", default="configs/table_default.yaml", help="table config YAML")
    b.add_argument("--out", default=None, help="output table (.parquet or .csv); default: config")
    b.add_argument(
        "--workers",
        type=int,
        default=1,
        help="generation processes, and judging processes for an offline judge (default 1)",
    )
    b.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local processes, or Ray tasks (needs ray; RAY_ADDRESS for a cluster)",
    )
    b.add_argument(
        "--ray-address",
        default=None,
        help="Ray cluster to use with --executor ray, e.g. 10.0.0.5:6379 (default: "
        "RAY_ADDRESS, else a local Ray instance with --workers CPUs)",
    )
    b.add_argument("--max-prompts", type=int, default=None, help="only the first M prompts")
    b.add_argument(
        "--prompt-ids",
        default=None,
        help="only these prompts of the set, comma-separated (e.g. p000,p006,p012,p025)",
    )
    b.add_argument("--seed", type=int, default=None, help="override the config's seed")
    b.add_argument("--fresh", action="store_true", help="discard journaled texts first")
    b.add_argument(
        "--rejudge",
        action="store_true",
        help="judge every text again, ignoring journaled scores (after a judge's formula "
        "changed in code under the same name)",
    )
    b.add_argument("--no-progress", action="store_true", help="no progress bars")
    i = sub.add_parser(
        "info", aliases=["check"], help="validate a table and print its shape and score summary"
    )
    i.add_argument(
        "path", nargs="?", default=None, help="table to inspect (default: the environment's)"
    )
    m = sub.add_parser(
        "margin",
        help="the edge experts' judged quality above the local writer's, 95%% CIs over prompts",
    )
    m.add_argument(
        "path", nargs="?", default=None, help="table to inspect (default: the environment's)"
    )
    m.add_argument("--boot", type=int, default=10_000, help="bootstrap resamples (default 10000)")
    m.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    t = sub.add_parser(
        "tokens",
        help="add prompt/completion token counts to an existing table (no regeneration)",
    )
    t.add_argument("--table", default=None, help="table to update (default: the environment's)")
    t.add_argument(
        "--config",
        default="configs/table_default.yaml",
        help="the table config it was built with (system prompts, backends, fusion)",
    )
    t.add_argument("--out", default=None, help="write here instead of replacing --table")
    t.add_argument("--recount", action="store_true", help="count rows that have counts again")
    v = sub.add_parser("validate-judge", help="offline judge on the held-out set: pair win rates")
    v.add_argument(
        "--set",
        action="append",
        default=None,
        help="held-out YAML, repeatable (default: every judge_heldout*.yaml set in data/)",
    )
    v.add_argument(
        "--judge",
        default="offline-minilm-v3",
        help="offline judge version: offline-minilm-v3 (default, embedding only) or "
        "offline-minilm-lm-v4 (adds the SmolLM2 coherence term; judged the shipped table)",
    )
    v.add_argument("--seed", type=int, default=0, help="seed of the shuffles and foils")
    c = sub.add_parser(
        "check-backend",
        help="one generation and one judge call on a config's backends (checks a server)",
    )
    c.add_argument("--config", default="configs/table_default.yaml", help="table config YAML")
    c.add_argument(
        "--backend",
        default=None,
        help="key in the config's backends (default: every backend the build uses)",
    )


def _build(args: argparse.Namespace) -> int:
    import logging
    import time
    from pathlib import Path

    from .builder import build_table
    from .config import load_table_config
    from .errors import BackendError
    from .journal import journal_dir

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    cfg = load_table_config(args.config)
    if args.workers < 1:
        raise ValueError("--workers must be >= 1")
    if args.max_prompts is not None:
        if args.max_prompts < 1:
            raise ValueError("--max-prompts must be >= 1")
        cfg = cfg.with_overrides(max_prompts=args.max_prompts)
    if args.seed is not None:
        cfg = cfg.with_overrides(seed=args.seed)
    out = Path(args.out).expanduser().absolute() if args.out else None
    prompts = None
    if args.prompt_ids:
        from .prompts import load_prompts

        want = [p.strip() for p in args.prompt_ids.split(",") if p.strip()]
        every = load_prompts(cfg.resolve(cfg.prompts), cfg.max_prompt_chars)
        known = {p.prompt_id: p for p in every}
        unknown = [p for p in want if p not in known]
        if unknown or not want:
            raise ValueError(
                f"--prompt-ids: {', '.join(unknown) or 'none given'} not in {cfg.prompts} "
                f"(it has {every[0].prompt_id}..{every[-1].prompt_id})"
            )
        prompts = [known[p] for p in want]
    t0 = time.time()
    if args.ray_address and args.executor != "ray":
        raise ValueError("--ray-address needs --executor ray")
    try:
        stats = build_table(
            cfg,
            out,
            args.workers,
            args.executor,
            args.fresh,
            progress=not args.no_progress,
            prompts=prompts,
            ray_address=args.ray_address,
            rejudge=args.rejudge,
        )
    except BackendError as exc:
        # A server that failed mid-build: say that what was written so far is kept.
        parts = journal_dir(cfg.resolve(out or cfg.out))
        kept = sum(1 for _ in parts.glob("*.jsonl")) if parts.is_dir() else 0
        if not kept:
            raise
        raise BackendError(
            f"{exc}; the texts and scores written so far are journaled in {parts}: "
            "the same command resumes from them"
        ) from None
    print(
        f"wrote {stats['out']}: {stats['rows']} rows, {stats['prompts']} prompts, "
        f"{stats['generated_texts']} new texts in {time.time() - t0:.0f} s"
        + (f" ({stats['texts_per_minute']} texts/min)" if "texts_per_minute" in stats else "")
    )
    c = stats["judge_counts"]
    if "offline judged" in c:
        print(
            f"judge: {c['offline journaled']} scores from the journal, {c['offline judged']} judged"
        )
    if "asked" in c:
        reused = f" ({c['reused']} rows with a text already asked)" if c["reused"] else ""
        print(f"llm judge: {c['journaled']} scores from the journal, {c['asked']} asked{reused}")
    if stats["missing_scores"]:
        names = stats["missing_scores"]
        dropped = stats["dropped_prompts"]
        print(
            f"{len(names)} text(s) without a judge score ({', '.join(names[:5])}"
            f"{' ...' if len(names) > 5 else ''}); left out: "
            f"{', '.join(dropped) or 'no prompt'} and their fused rows; "
            "a rerun asks the judge again for these (docs/llm-pipeline.md, missing scores)"
        )
    return 0


def _check_backend(args: argparse.Namespace) -> int:
    import time

    from .backends import check_served_models, make_text_backend
    from .builder import generation_backends
    from .config import load_table_config
    from .judge_llm import LLMJudge

    cfg = load_table_config(args.config)
    if args.backend is not None and args.backend not in cfg.backends:
        known = ", ".join(cfg.backends)
        raise ValueError(f"--backend {args.backend!r} is not in the config's backends ({known})")
    judge_backend = args.backend or cfg.judge.backend
    names = [args.backend] if args.backend else generation_backends(cfg)
    names = list(dict.fromkeys([*names, judge_backend]))
    prompt = "Write two sentences about a lighthouse keeper."
    story = ""
    for name in names:
        b = cfg.backends[name]
        check_served_models(cfg, [name])
        where = f"{b.base_url} model {b.model}" if b.type == "openai" else b.type
        backend = make_text_backend(b)
        t0 = time.perf_counter()
        g = backend.generate(prompt, max_tokens=48, temperature=0.0, seed=0)
        story = story or g.text
        print(
            f"backends.{name} ({where}): generated {len(g.text.split())} words in "
            f"{time.perf_counter() - t0:.1f} s, model {g.model}: {g.text[:80]!r}"
        )
        if name != judge_backend:
            continue
        judge = LLMJudge(backend, cfg.judge.attempts)
        t0 = time.perf_counter()
        got = judge.ask(story or prompt, prompt)
        dt = time.perf_counter() - t0
        note = "" if cfg.judge.type == "llm" else " (judge.type is offline: builds do not ask it)"
        if got.score is None:
            print(
                f"judge on backends.{name}: no 0-10 score in {got.attempts} attempts "
                f"(last answer {got.answer[:60]!r}); a build records such a text as missing{note}"
            )
        else:
            print(
                f"judge on backends.{name}: score {got.score:g} in {dt:.1f} s "
                f"({got.attempts} attempt(s), answer {got.answer[:40]!r}){note}"
            )
    return 0


def _tokens(args: argparse.Namespace) -> int:
    from pathlib import Path

    from netmoe_table import (
        TOKEN_COLUMNS,
        default_table_path,
        has_tokens,
        load_table,
        normalise,
        write_table,
    )

    from .config import load_table_config
    from .tokens import add_tokens

    path = Path(args.table).expanduser().absolute() if args.table else default_table_path()
    out = Path(args.out).expanduser().absolute() if args.out else path
    df = load_table(path)
    cfg = load_table_config(args.config)
    if has_tokens(df) and not args.recount and out == path:
        print(f"{path}: already has token counts; nothing to do (--recount counts again)")
        return 0
    if args.recount:
        df = df.drop(columns=[c for c in TOKEN_COLUMNS if c in df.columns])
    counted = normalise(add_tokens(df, cfg, str(path)))
    write_table(counted, out)
    _print_tokens(counted, out)
    return 0


def _print_tokens(df, path) -> None:  # noqa: ANN001 - a DataFrame and a path
    from netmoe_table import TOKENS_ATTR, token_note

    note = token_note(df, str(path))
    if note:
        print(f"  {note}")
        return
    sub = df[df.kind == "subtask"]
    by = sub.groupby("expert").agg(p=("prompt_tokens", "mean"), c=("completion_tokens", "mean"))
    per = ", ".join(f"{e}: {r.p:.0f}/{r.c:.0f}" for e, r in by.iterrows())
    sources = ", ".join(f"{s} {n}" for s, n in df.token_source.value_counts().items())
    print(f"{path}: token counts (mean prompt/completion per expert) {per}; sources: {sources}")
    how = df.attrs.get(TOKENS_ATTR)
    if how:
        print(f"  counted with {how.get('counted_with')}, tokenizer(s) {how.get('tokenizers')}")


def _info(args: argparse.Namespace) -> int:
    from netmoe_table import default_table_path, has_writers, load_table

    path = args.path or default_table_path()
    df = load_table(path)
    sub = df[df.kind == "subtask"]
    fused = df[df.kind == "fused"]
    k = sub.subtask_index.nunique()
    n = sub.expert.nunique() - 1
    print(
        f"{path}: {len(df)} rows, {df.prompt_id.nunique()} prompts, K={k}, N={n}, "
        f"{len(fused)} fused rows; judge {', '.join(sorted(df.judge.unique()))}"
    )
    by_expert = sub.groupby("expert").agg(score=("score", "mean"), words=("words", "mean"))
    for e, r in by_expert.iterrows():
        print(f"  expert {e}: mean score {r.score:.2f}, mean words {r.words:.0f}")
    if len(fused):
        print(f"  fused: mean score {fused.score.mean():.2f}, mean words {fused.words.mean():.0f}")
    _print_tokens(df, path)
    if has_writers(df):
        for e, r in sub.groupby("expert").first().iterrows():
            print(
                f"  writer {e} {r.writer}: best_of {r.best_of}, max_tokens {r.max_tokens}, "
                f"min_tokens {r.min_tokens}, context {r.context}"
            )
    else:
        print(f"{path}: no writer columns (a table built before issue 17: one budget for all)")
    return 0


def _margin(args: argparse.Namespace) -> int:
    from netmoe_table import default_table_path, load_table

    from .margin import writer_costs, writer_margins

    if args.boot < 100:
        raise ValueError("--boot must be >= 100")
    path = args.path or default_table_path()
    df = load_table(path)
    print(f"{path}: {df.prompt_id.nunique()} prompts, judge {', '.join(sorted(df.judge.unique()))}")
    for m in writer_margins(df, args.boot, args.seed):
        print(f"  {m.line()}")
    costs = writer_costs(df)
    print("per writer (subtask rows; tokens = kept reply, decoded and seconds = all candidates):")
    print("  " + costs.round(2).to_string().replace("\n", "\n  "))
    return 0


def _validate_judge(args: argparse.Namespace) -> int:
    import time

    from .embed import get_embedder
    from .judge import make_offline_judge
    from .judge_validation import HELDOUT_SETS, load_items, validate_judge

    sets = args.set or HELDOUT_SETS
    judge = make_offline_judge(args.judge, get_embedder())
    print(f"judge {judge.name}, seed {args.seed}, 3 shuffles and 3 off-topic foils per item")
    for path in sets:
        items = load_items(path)
        t0 = time.perf_counter()
        r = validate_judge(judge, items, seed=args.seed)
        dt = time.perf_counter() - t0
        print(f"{path} ({len(items)} items): {r.summary()}")
        print(f"  {r.texts} distinct texts judged in {dt:.0f} s ({dt / r.texts:.2f} s per text)")
        for kind, (sw, sp, tw, tp) in r.by_type.items():
            print(f"  {kind}: coherent > shuffled {sw}/{sp}, on-topic > off-topic {tw}/{tp}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch; any user-facing error becomes one ``netmoe: error:`` line and exit 2."""
    handlers = {
        "build": _build,
        "info": _info,
        "check": _info,
        "margin": _margin,
        "tokens": _tokens,
        "validate-judge": _validate_judge,
        "check-backend": _check_backend,
    }
    try:
        return handlers[args.table_command](args)
    except (ValueError, OSError) as exc:  # PipelineError and TableError are ValueErrors
        msg = " ".join(str(exc).split()) or type(exc).__name__
        print(f"netmoe: error: {msg}", file=sys.stderr)
        return 2
