/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Standalone and bridge loops shared by the scenario programs (see scenario-driver.h).
 */
#include "scenario-driver.h"

#include "report-json.h"
#include "task-action-check.h"

#include "netmoe/bridge.h"

#include "ns3/log.h"
#include "ns3/simulator.h"

#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <sstream>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeScenarioDriver");

using namespace ns3;

void
DriverOptions::AddTo(FlagSet& flags)
{
    flags.Add("warmup", "simulated seconds before the first observation", warmup, kWarmupRange);
    flags.Add("bridgeFd", "shared-memory descriptor passed by pybridge (-1: none)", bridgeFd,
              Range{-1, 65535, false, true});
    flags.Add("bridgeName", "or a named POSIX shared-memory segment", bridgeName);
    flags.Add("spin", "busy-poll iterations before sleeping in a bridge wait", spin,
              Range{0, 1e9, false, true});
    flags.Add("bridgeTimeout", "longest wait for Python's next action (s)", bridgeTimeout,
              Range{0, 86400, true});
    flags.Add("standalone", "run scripted tasks and print JSON lines, no Python", standalone);
    flags.Add("tasks", "standalone: number of tasks", tasks, Range{0, 1e6, false, true});
    flags.Add("script",
              "standalone: targets per task, \"1,2,3;0,1\" (cycled; default all experts; "
              "at most 16 subtasks a task)",
              script);
    flags.Add("requestBytes",
              "standalone: request size per subtask, comma list (cycled), each " +
                  kMessageBytesRange.Text(),
              requestBytes);
    flags.Add("replyBytes",
              "standalone: reply size per subtask, comma list (cycled), each " +
                  kMessageBytesRange.Text(),
              replyBytes);
    flags.Add("computeS",
              "standalone: expert generation time per subtask (s), comma list, each " +
                  kComputeRange.Text(),
              computeS);
    flags.Add("promptTokens",
              "standalone --serving: prompt tokens per subtask, comma list (cycled), each " +
                  kTokensRange.Text(),
              promptTokens);
    flags.Add("replyTokens",
              "standalone --serving: reply tokens per subtask, comma list (cycled), each " +
                  kTokensRange.Text() + "; the reply's bytes are --replyBytes",
              replyTokens);
    flags.Add("fusionTokens",
              "standalone --serving: prompt,reply tokens of the user device's fusion", fusionTokens);
    flags.Add("deadline", "standalone: task deadline (s), as an action's deadline_s", deadline,
              kDeadlineRange);
    flags.Add("gap", "standalone: simulated idle time between tasks (s), as next_gap_s", gap,
              kGapRange);
}

void
DriverOptions::Prepare(uint32_t n, bool checkOnly)
{
    if (!checkOnly && !standalone && bridgeFd < 0 && bridgeName.empty())
    {
        throw ConfigError("standalone",
                          "not given, and no --bridgeFd or --bridgeName (pybridge) either");
    }
    std::string text = script;
    if (text.empty())
    {
        for (size_t e = 1; e <= n; ++e)
        {
            text += (e > 1 ? "," : "") + std::to_string(e);
        }
    }
    plan.clear();
    for (const auto& task : Split(text, ';'))
    {
        std::vector<int> targets;
        for (double t : ParseNumbers(task, "script", Range{-1e9, 1e9}))
        {
            if (t != std::floor(t) || t < 0 || t > n)
            {
                throw ConfigError("script", "target " + FormatNumber(t) + " is out of range 0.." +
                                                std::to_string(n));
            }
            targets.push_back(static_cast<int>(t));
        }
        if (targets.size() > NETMOE_MAX_SUBTASKS)
        {
            throw ConfigError("script", "more than " + std::to_string(NETMOE_MAX_SUBTASKS) +
                                            " subtasks in task '" + task + "'");
        }
        plan.push_back(targets);
    }
    req = ParseNumbers(requestBytes, "requestBytes", kMessageBytesRange);
    rep = ParseNumbers(replyBytes, "replyBytes", kMessageBytesRange);
    comp = ParseNumbers(computeS, "computeS", kComputeRange);
    prompt = ParseNumbers(promptTokens, "promptTokens", kTokensRange);
    reply = ParseNumbers(replyTokens, "replyTokens", kTokensRange);
    fusion = ParseNumbers(fusionTokens, "fusionTokens", kTokensRange, 2);
}

namespace
{

/** A report with no measurement yet (the READY report). */
void
ClearReport(NetmoeReport& r)
{
    r = NetmoeReport{};
    for (auto& v : r.snr_db)
    {
        v = std::numeric_limits<double>::quiet_NaN();
    }
}

int
RunStandalone(SteppedScenario& scenario, const DriverOptions& o)
{
    NetmoeReport report;
    double wallTotal = 0;
    for (uint32_t i = 0; i < o.tasks; ++i)
    {
        NetmoeAction a{};
        a.command = NETMOE_CMD_STEP;
        a.task_id = i;
        const auto& targets = o.plan[i % o.plan.size()];
        a.num_subtasks = static_cast<uint32_t>(targets.size());
        for (uint32_t k = 0; k < a.num_subtasks; ++k)
        {
            a.target[k] = targets[k];
            a.request_bytes[k] = static_cast<uint32_t>(o.req[k % o.req.size()]);
            a.reply_bytes[k] = static_cast<uint32_t>(o.rep[k % o.rep.size()]);
            a.compute_s[k] = o.comp[k % o.comp.size()];
            a.prompt_tokens[k] = static_cast<uint32_t>(o.prompt[k % o.prompt.size()]);
            a.reply_tokens[k] = static_cast<uint32_t>(o.reply[k % o.reply.size()]);
        }
        a.fusion_prompt_tokens = static_cast<uint32_t>(o.fusion[0]);
        a.fusion_reply_tokens = static_cast<uint32_t>(o.fusion[1]);
        a.deadline_s = o.deadline;
        a.next_gap_s = o.gap;
        std::string error = scenario.CheckAction(a);
        if (!error.empty())
        {
            NS_FATAL_ERROR(o.program << ": " << error);
        }
        ClearReport(report);
        auto t0 = std::chrono::steady_clock::now();
        scenario.Step(a, report);
        wallTotal += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::cout << ReportToJson(report, o.serving) << std::endl;
    }
    std::cerr << o.program << ": " << o.tasks << " tasks, "
              << (o.tasks ? wallTotal / o.tasks * 1e3 : 0) << " ms wall per task (ns-3 only), "
              << Simulator::GetEventCount() << " events in all\n";
    return 0;
}

int
RunBridge(SteppedScenario& scenario, const DriverOptions& o)
{
    try
    {
        ScenarioBridge bridge(o.bridgeFd, o.bridgeName, o.spin, o.bridgeTimeout);
        NetmoeReport& report = bridge.Report();
        ClearReport(report);
        scenario.Observe(report, NETMOE_STATUS_READY);
        while (bridge.Exchange())
        {
            const NetmoeAction action = bridge.Action(); // a copy: Python may reuse the slot
            std::string error = scenario.CheckAction(action);
            if (!error.empty())
            {
                bridge.SetError(o.program + ": bad action: " + error);
                NS_FATAL_ERROR(o.program << ": bad action: " << error);
            }
            scenario.Step(action, report);
        }
    }
    catch (const BridgeError& e)
    {
        std::cerr << o.program << ": " << e.what() << std::endl;
        return 3;
    }
    return 0;
}

} // namespace

int
RunScenario(SteppedScenario& scenario, const DriverOptions& options)
{
    scenario.Advance(options.warmup);
    const int rc = options.standalone ? RunStandalone(scenario, options)
                                      : RunBridge(scenario, options);
    scenario.Finish();
    Simulator::Destroy();
    return rc;
}

} // namespace netmoe
