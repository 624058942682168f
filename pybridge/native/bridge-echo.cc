/* SPDX-License-Identifier: GPL-2.0-only
 *
 * bridge-echo: a scenario stand-in that speaks the netmoe bridge without ns-3.
 *
 * For every action it writes a report whose numbers are a pure function of the
 * action (so tests can check that what Python sent arrived intact), then waits for
 * the next one. Used by the bridge's tests and by bench/bridge_roundtrip.py.
 *
 *   bridge-echo --bridgeFd=3 [--spinUs=U] [--timeout=S] [--experts=N] [--stallMs=T]
 *
 * --stallMs makes every answer take T ms (a stand-in for a long simulation step).
 */
#include "netmoe/bridge.h"

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

namespace
{

bool
ParseFlag(const std::string& arg, const std::string& key, std::string& value)
{
    const std::string prefix = "--" + key + "=";
    if (arg.rfind(prefix, 0) == 0)
    {
        value = arg.substr(prefix.size());
        return true;
    }
    return false;
}

} // namespace

int
main(int argc, char** argv)
{
    int fd = -1;
    std::string name;
    double spinUs = 50.0;
    double timeout = 600.0;
    uint32_t experts = 3;
    long stallMs = 0;
    for (int i = 1; i < argc; ++i)
    {
        std::string arg = argv[i];
        std::string v;
        if (ParseFlag(arg, "bridgeFd", v))
            fd = std::stoi(v);
        else if (ParseFlag(arg, "bridgeName", v))
            name = v;
        else if (ParseFlag(arg, "spinUs", v))
            spinUs = std::stod(v);
        else if (ParseFlag(arg, "timeout", v))
            timeout = std::stod(v);
        else if (ParseFlag(arg, "stallMs", v))
            stallMs = std::stol(v);
        else if (ParseFlag(arg, "experts", v))
            experts = static_cast<uint32_t>(std::stoul(v));
        else
        {
            std::cerr << "bridge-echo: unknown argument " << arg << "\n";
            return 2;
        }
    }
    try
    {
        netmoe::ScenarioBridge bridge(fd, name, spinUs, timeout);
        NetmoeReport& r = bridge.Reports()[0]; // one user: echoes user 0
        r.status = NETMOE_STATUS_READY;
        r.num_experts = experts;
        uint32_t steps = 0;
        while (bridge.Exchange())
        {
            const NetmoeAction& a = bridge.Actions()[0];
            if (stallMs > 0)
            {
                std::this_thread::sleep_for(std::chrono::milliseconds(stallMs));
            }
            r.status = NETMOE_STATUS_STEPPED;
            r.task_id = a.task_id;
            r.num_subtasks = a.num_subtasks;
            r.sim_time_s = ++steps;
            for (uint32_t k = 0; k < a.num_subtasks && k < NETMOE_MAX_SUBTASKS; ++k)
            {
                r.subtask_delay_s[k] = a.reply_bytes[k] * 1e-6 + a.compute_s[k];
                r.subtask_delivered[k] = a.target[k] > 0 ? 1u : 0u;
            }
            for (uint32_t e = 0; e < experts && e < NETMOE_MAX_EXPERTS; ++e)
            {
                r.bytes_delivered[e] = 0;
                for (uint32_t k = 0; k < a.num_subtasks; ++k)
                {
                    if (a.target[k] == static_cast<int32_t>(e + 1))
                        r.bytes_delivered[e] += a.reply_bytes[k];
                }
                r.snr_db[e] = NAN;
                r.obs_snr_db[e] = 20.0 - 3.0 * e;
            }
        }
        return 0;
    }
    catch (const netmoe::BridgeError& e)
    {
        std::cerr << e.what() << "\n";
        return 3;
    }
}
