"""TCP's SYN retransmission timeout (``scenario.tcp_syn_timeout_s``, edge-moe --synTimeout).

A stall on the default scenario is a SYN the Wi-Fi MAC gave up on (docs/results.md "Where
the gap is"): TCP resends it after the SYN timeout, ns-3's 3 s by default, 1 s here as
RFC 6298 and Linux. The reproduction below is the first stall of bench/loss_vs_snr.py's
random policy (env seed 3,000,002, its second task).
"""

from __future__ import annotations

import numpy as np
import pytest

from pybridge.config import ConfigError, load_config, read_yaml
from pybridge.env import EdgeMoEEnv
from pybridge.paths import REPO_ROOT, ScenarioNotBuiltError, program_path

try:
    program_path("edge-moe")
    BUILT = True
except ScenarioNotBuiltError:  # pragma: no cover - depends on the build
    BUILT = False


def _config(syn_timeout_s: float | None) -> dict:
    data = read_yaml(REPO_ROOT / "configs" / "default.yaml")["env"]
    if syn_timeout_s is not None:
        data["scenario"]["tcp_syn_timeout_s"] = syn_timeout_s
    return data


def _delays(syn_timeout_s: float | None) -> list[np.ndarray]:
    env = EdgeMoEEnv(load_config(_config(syn_timeout_s)))
    try:
        env.reset(seed=3_000_002)
        out = []
        for action in ([2, 1, 3], [0, 3, 0]):
            _, _, _, _, info = env.step(np.array(action))
            assert list(info["effective_assignment"]) == action  # every reply arrived
            out.append(np.asarray(info["delay_s"]))
        return out
    finally:
        env.close()


@pytest.mark.ns3
@pytest.mark.skipif(not BUILT, reason="edge-moe not built")
def test_a_lost_syn_is_resent_after_the_syn_timeout() -> None:
    default = _delays(None)
    ns3_own = _delays(3.0)
    np.testing.assert_allclose(default[0], ns3_own[0])  # no SYN lost: nothing differs
    # Task 2: expert 3's SYN is lost once; its exchange waits one timeout more.
    assert default[1][2] == pytest.approx(ns3_own[1][2] - 2.0, abs=0.1)
    assert 1.9 < default[1][2] < 2.3  # ~1 s of generation and transfer + the 1 s wait


def test_syn_timeout_flag_and_bad_value() -> None:
    assert "--synTimeout=1" in load_config(_config(None)).scenario.argv(1)
    assert "--synTimeout=3" in load_config(_config(3.0)).scenario.argv(1)
    with pytest.raises(ConfigError, match="tcp_syn_timeout_s"):
        load_config(_config(0.0))
