"""Phase 1 of a build for one prompt: the gate split, then every (subtask, expert) text
and, with ``fusion.mode: llm``, every selected fused text, each yielded as a journal
record as soon as it exists. llama.cpp starts each text from an empty cache and every
text has its own seed (``plan.item_seed``), so a record depends on nothing else. Each
text record carries its token counts (``tokens.generation_counts``) and the tokens the
writer decoded (``decoded_tokens``, before a cut to the last full sentence). A writer
with ``best_of: n`` writes n candidates here (seeds ``plan.candidate_seed``); the judge
picks one in phase 2 (``merge``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from . import backends
from .config import TableConfig
from .gate import split_prompt
from .journal import GATE_KEY, Record, candidate_tag, record_key
from .messages import fusion_messages, trim_to_sentence, writer_messages
from .plan import assignment_name, candidate_seed, fused_assignments, item_seed
from .prompts import PromptSpec
from .tokens import generation_counts


class Generator:
    """Holds the text backends of one process and writes one prompt's texts.

    :param cfg: the build's config.
    :param n_threads: llama.cpp threads of a backend whose config leaves them open.
    """

    def __init__(self, cfg: TableConfig, n_threads: int | None = None) -> None:
        self.cfg = cfg
        self.backends = {
            n: backends.make_text_backend(b, n_threads) for n, b in cfg.backends.items()
        }

    def run(self, spec: PromptSpec, done: list[Record], emit: Callable[[Record], None]) -> int:
        """Generate what ``done`` lacks for ``spec``; ``emit`` each new record. Returns count."""
        new = 0
        for record in self.records(spec, done):
            emit(record)
            new += 1
        return new

    def records(self, spec: PromptSpec, done: list[Record]) -> Iterator[Record]:
        """Yield each record ``done`` lacks for ``spec``, as soon as its text exists."""
        cfg, pid = self.cfg, spec.prompt_id
        have = {record_key(r): r for r in done}
        gate = have.get(GATE_KEY)
        if gate is None:
            t0 = time.perf_counter()
            subtasks, method = split_prompt(
                spec.prompt,
                cfg.num_subtasks,
                spec.content_type,
                cfg.gate.split,
                self.backends[cfg.gate.backend],
                item_seed(cfg.seed, pid, "gate"),
                cfg.gate.max_tokens,
            )
            gate = {
                "type": "gate",
                "subtasks": subtasks,
                "split": method,
                "seconds": time.perf_counter() - t0,
            }
            yield gate
        texts: dict[tuple[int, int], str] = {}
        subtasks = gate["subtasks"]
        for k, subtask in enumerate(subtasks):
            for e, expert in enumerate(cfg.all_experts):
                msgs = writer_messages(
                    expert.system_prompt,
                    subtask,
                    context=expert.context,
                    prompt=spec.prompt,
                    subtasks=subtasks,
                    k=k,
                    min_tokens=expert.min_tokens,
                    max_tokens=expert.max_tokens,
                )
                for j in range(expert.best_of):
                    rec = have.get(("text", k, e, candidate_tag(j)))
                    if rec is None:
                        seed = candidate_seed(cfg.seed, pid, k, e, j)
                        g = self.backends[expert.backend].generate(
                            msgs,
                            max_tokens=expert.max_tokens,
                            temperature=expert.temperature,
                            seed=seed,
                            top_p=expert.top_p,
                        )
                        text = trim_to_sentence(g.text)
                        counts = generation_counts(cfg.backends[expert.backend], msgs, g, text)
                        decoded = g.completion_tokens
                        rec = {
                            "type": "text",
                            "k": k,
                            "expert": e,
                            **({"cand": j} if j else {}),
                            "text": text,
                            "model": f"{expert.name}:{g.model}",
                            "backend": g.backend,
                            "seed": seed,
                            "gen_seconds": round(g.seconds, 4),
                            **counts.as_row(),
                            "decoded_tokens": (
                                decoded if decoded is not None else counts.completion_tokens
                            ),
                        }
                        yield rec
                    if j == 0:
                        texts[(k, e)] = rec["text"]
        if cfg.fusion.mode == "llm":
            backend = self.backends[cfg.fusion.backend]
            for a in fused_assignments(cfg, pid):
                name = assignment_name(a)
                if ("fused", -1, -1, name) in have:
                    continue
                seed = item_seed(cfg.seed, pid, "fused", name)
                msgs = fusion_messages([texts[(k, e)] for k, e in enumerate(a)])
                g = backend.generate(
                    msgs,
                    max_tokens=cfg.fusion.max_tokens,
                    temperature=cfg.fusion.temperature,
                    seed=seed,
                )
                text = trim_to_sentence(g.text)
                counts = generation_counts(cfg.backends[cfg.fusion.backend], msgs, g, text)
                yield {
                    "type": "fused",
                    "assignment": name,
                    "text": text,
                    "model": f"fusion:{g.model}",
                    "backend": g.backend,
                    "seed": seed,
                    "gen_seconds": round(g.seconds, 4),
                    **counts.as_row(),
                }
