"""The serving model in closed form: the Shannon backend's twin of ns-3's ``LlmServer``.

``ns3_scenarios/llm-server.h`` owns the model; this file redoes its arithmetic without
packets, so ``netmoe validate`` can tell what the network adds to a served reply:

- a request takes a free slot at once, else waits in a FIFO of the profile's capacity;
  one that finds every slot busy and the FIFO full is rejected (the user device's own
  server never rejects);
- in its slot it is prefilled for P / prefill seconds; the first token is out at the
  end of the prefill; the other R - 1 are decoded at the profile's per-sequence rate for
  the number of sequences decoding at that moment (processor sharing), recomputed
  whenever one starts or ends decoding;
- every ``tokens_per_chunk`` tokens (and at the last) a chunk is reported; 0 reports
  only the last (no streaming).

``stream_reply`` then carries the chunks over a link of a fixed rate, in order, each
as soon as it is ready and the link is free (a fluid FIFO: no handshake, no ACKs, no
contention: exactly what the closed form leaves out).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from pybridge.scenario_defaults import DEFAULTS

#: token counts closer than this to a report point have reached it (llm-server.cc)
TOKEN_EPS = 1e-6
#: an expert's rejection on the wire: an HTTP/1.1 503 with a JSON error (task-runner.cc)
REJECTION_BYTES = 190


@dataclass(frozen=True)
class Profile:
    """One device's LLM server (``serving-profile.h``)."""

    prefill_tok_s: float
    decode_tok_s: tuple[float, ...]
    slots: int
    queue: int

    def decode_rate(self, n: int) -> float:
        """Per-sequence decode tokens/s while ``n`` >= 1 sequences decode."""
        return self.decode_tok_s[min(n, len(self.decode_tok_s)) - 1]

    @classmethod
    def parse(cls, spec: str) -> Profile:
        """``prefill=250,decode=101/75,slots=2,queue=8`` (values checked by the program)."""
        kv = dict(item.split("=", 1) for item in spec.split(","))
        return cls(
            float(kv["prefill"]),
            tuple(float(v) for v in kv["decode"].split("/")),
            int(kv["slots"]),
            int(kv["queue"]),
        )


def profiles_for(serving: object, num_experts: int) -> tuple[list[Profile], Profile]:
    """(one profile per expert, the user device's) of a ``ServingConfig``: its named
    profiles, or the program's defaults (``scenario-defaults.h``) where it names none."""
    names = serving.experts  # type: ignore[attr-defined]
    if names is None:
        specs = str(DEFAULTS["expertProfiles"]).split(";")
    else:
        named = [names] if isinstance(names, str) else list(names)
        specs = [serving.profiles[n].spec() for n in named]  # type: ignore[attr-defined]
    experts = [Profile.parse(specs[0 if len(specs) == 1 else e]) for e in range(num_experts)]
    local_name = serving.local  # type: ignore[attr-defined]
    local = Profile.parse(
        str(DEFAULTS["localProfile"]) if local_name is None else serving.profiles[local_name].spec()  # type: ignore[attr-defined]
    )
    return experts, local


@dataclass
class Served:
    """What happened to one request on a server (times from the task start)."""

    rejected: bool = False
    start_s: float = float("nan")  # got its slot
    chunks: list[tuple[float, int]] = field(default_factory=list)  # (time, tokens so far)
    queue_len: int = 0  # FIFO length when its first chunk (or rejection) went out

    @property
    def end_s(self) -> float:
        return self.chunks[-1][0] if self.chunks else float("nan")


@dataclass(slots=True)
class _Seq:
    prompt: int
    reply: int
    prefill_end: float
    produced: float = 0.0
    reported: int = 0
    decoding: bool = False
    target: int = 0  # the next report point (tokens), kept in step with ``reported``


def serve(
    profile: Profile,
    arrivals: list[tuple[float, int, int, int]],
    tokens_per_chunk: int,
    bounded: bool = True,
) -> dict[int, Served]:
    """Run ``profile``'s server over ``arrivals`` = [(time, id, prompt tokens, reply
    tokens)]; what each request got, by id. ``tokens_per_chunk`` 0: only the last token
    is reported; ``bounded`` False: the FIFO never rejects. A pure function of its
    arguments (``ServeCache`` memoises it); the caller must not change what it returns."""
    pending = deque(sorted(arrivals))
    out: dict[int, Served] = {a[1]: Served() for a in arrivals}
    running: dict[int, _Seq] = {}
    waiting: deque[tuple[int, int, int]] = deque()
    slots, rates, inf = profile.slots, profile.decode_tok_s, np.inf
    now = 0.0

    def next_report(s: _Seq) -> int:
        if tokens_per_chunk == 0:
            return s.reply
        return min(s.reply, (s.reported // tokens_per_chunk + 1) * tokens_per_chunk)

    def start(rid: int, prompt: int, reply: int) -> None:
        s = _Seq(prompt, max(1, reply), now + prompt / profile.prefill_tok_s)
        s.target = next_report(s)
        running[rid] = s
        out[rid].start_s = now

    def settle() -> None:
        reports = []
        for rid, s in list(running.items()):
            if not s.decoding:
                continue
            before = s.reported
            while s.reported < s.reply and s.produced + TOKEN_EPS >= s.target:
                s.reported = s.target
                s.target = next_report(s)
            if s.reported != before:
                reports.append((rid, s.reported))
            if s.reported >= s.reply:
                del running[rid]
        while len(running) < slots and waiting:  # freed slots: the FIFO's head
            start(*waiting.popleft())
        for rid, tokens in reports:
            if not out[rid].chunks:
                out[rid].queue_len = len(waiting)  # in the reply's header
            out[rid].chunks.append((now, tokens))

    # the same arithmetic, in the same order, as the plain event loop it replaced (every
    # result bit-identical: tests/test_serving_model.py); only the bookkeeping is cheaper
    while pending or running:
        decoding, t_prefill = [], inf
        for s in running.values():
            if s.decoding:
                decoding.append(s)
            elif s.prefill_end < t_prefill:
                t_prefill = s.prefill_end
        t_report, rate = inf, 0.0
        if decoding:
            rate = rates[min(len(decoding), len(rates)) - 1]  # Profile.decode_rate
            for s in decoding:
                t = now + (s.target - s.produced) / rate
                if t < t_report:
                    t_report = t
        t_arrival = pending[0][0] if pending else inf
        t_next = min(t_report, t_prefill, t_arrival)
        for s in decoding:
            s.produced = min(s.reply, s.produced + (t_next - now) * rate)
        now = t_next
        if t_next == t_prefill:
            s = next(s for s in running.values() if not s.decoding and s.prefill_end == now)
            s.decoding, s.produced = True, 1.0  # the prefill's last logits: the first token
            settle()
        elif t_next == t_report:
            settle()
        else:
            _, rid, prompt, reply = pending.popleft()
            if len(running) < slots and not waiting:
                start(rid, prompt, reply)
            elif bounded and len(waiting) >= profile.queue:
                out[rid].rejected = True
                out[rid].queue_len = len(waiting)
            else:
                waiting.append((rid, prompt, reply))
    return out


def stream_reply(
    served: Served,
    arrival_s: float,
    rate_bps: float,
    reply_tokens: int,
    reply_bytes: int,
    chunk: int,
    overhead: int,
) -> tuple[float, float, int, float]:
    """(first chunk in, last byte in, bytes on the wire, airtime) of ``served``'s reply
    over a link of ``rate_bps``: each chunk leaves when it is ready and the link is free.
    A rejection is one 503 reply sent when the request arrived (``arrival_s``)."""
    if served.rejected:
        air = REJECTION_BYTES * 8 / rate_bps
        return arrival_s + air, arrival_s + air, REJECTION_BYTES, air
    reply_tokens = max(1, reply_tokens)
    total = reply_bytes + (-(-reply_tokens // chunk) * overhead if chunk else 0)
    sent, free, first, air = 0, 0.0, np.nan, 0.0
    for t, tokens in served.chunks:
        # the bytes ready after ``tokens`` tokens: the text's share plus one framing per
        # chunk (``chunk`` 0: no streaming), as ``TaskRunner::TokensOut`` counts them
        if tokens >= reply_tokens:
            ready = total
        else:
            ready = reply_bytes * tokens // reply_tokens
            if chunk:
                ready += -(-tokens // chunk) * overhead
            ready = min(max(ready, 1), total)
        if ready <= sent:
            continue
        dt = (ready - sent) * 8 / rate_bps
        free, sent, air = max(free, t) + dt, ready, air + dt
        if first != first:  # NaN: no chunk sent yet
            first = free
    return float(first), free, total, air


class ServeCache:
    """``serve`` memoised on its arguments. A reference's forked tries re-run a round with
    one user's action changed; most servers then see exactly the requests they saw in
    the previous try, and get the same answer without re-running. Exact (``serve`` is a
    pure function); the answers are shared, so nobody may change them. Forgets
    everything past ``limit`` entries; ``limit`` 0 memoises nothing."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self.hits = self.misses = 0
        self._memo: dict[tuple, dict[int, Served]] = {}

    def serve(
        self,
        profile: Profile,
        arrivals: list[tuple[float, int, int, int]],
        tokens_per_chunk: int,
        bounded: bool = True,
    ) -> dict[int, Served]:
        if self.limit <= 0:
            return serve(profile, arrivals, tokens_per_chunk, bounded)
        key = (profile, tuple(arrivals), tokens_per_chunk, bounded)
        out = self._memo.get(key)
        if out is None:
            self.misses += 1
            if len(self._memo) >= self.limit:
                self._memo.clear()
            out = self._memo[key] = serve(profile, arrivals, tokens_per_chunk, bounded)
        else:
            self.hits += 1
        return out
