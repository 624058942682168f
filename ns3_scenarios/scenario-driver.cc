/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Standalone and bridge loops shared by the scenario programs (see scenario-driver.h).
 */
#include "scenario-driver.h"

#include "report-json.h"
#include "task-action-check.h"

#include "netmoe/bridge.h"

#include "ns3/log.h"
#include "ns3/node-list.h"
#include "ns3/node.h"
#include "ns3/object-map.h"
#include "ns3/rng-seed-manager.h"
#include "ns3/simulator.h"
#include "ns3/tcp-l4-protocol.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
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
    flags.Add("spinUs",
              "longest busy-poll (us) before sleeping in a bridge wait; spins only while "
              "Python runs on another CPU",
              spinUs, Range{0, 1e6});
    flags.Add("bridgeTimeout", "longest wait for Python's next action (s)", bridgeTimeout,
              Range{0, 86400, true});
    flags.Add("standalone", "run scripted tasks and print JSON lines, no Python", standalone);
    flags.Add("tasks", "standalone: number of tasks", tasks, Range{0, 1e6, false, true});
    flags.Add("script",
              "standalone: targets per task, \"1,2,3;0,1\" (cycled; default all experts, "
              "16 a task; at most 16 subtasks a task)",
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
    flags.Add("userOffsets",
              "standalone --numUsers > 1: user u's task starts this long after the round "
              "starts (s), comma list cycled over the users, each " + kStartOffsetRange.Text(),
              userOffsets);
    flags.Add("deadline", "standalone: task deadline (s), as an action's deadline_s", deadline,
              kDeadlineRange);
    flags.Add("gap", "standalone: simulated idle time between tasks (s), as next_gap_s", gap,
              kGapRange);
    flags.Add("progressEvery",
              "standalone: every N tasks, print that window's events, ns-3 ms per task, "
              "resident memory, open TCP sockets, CPU ms per task and us per event and "
              "access point station entries on stderr (0: never)",
              progressEvery,
              Range{0, 1e6, false, true});
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
    if (text.empty()) // every expert, in tasks of at most NETMOE_MAX_SUBTASKS subtasks
    {
        for (size_t e = 1; e <= n; ++e)
        {
            const bool newTask = (e - 1) % NETMOE_MAX_SUBTASKS == 0;
            text += (e == 1 ? "" : newTask ? ";" : ",") + std::to_string(e);
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
    offsets = ParseNumbers(userOffsets, "userOffsets", kStartOffsetRange);
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

/** The process's resident memory now (MB), from /proc/self/statm; NaN where there is none. */
double
ResidentMb()
{
    std::ifstream statm("/proc/self/statm");
    double pages = 0;
    double resident = std::numeric_limits<double>::quiet_NaN();
    if (statm >> pages >> resident)
    {
        resident *= 4096.0 / (1024.0 * 1024.0);
    }
    return resident;
}

/** TCP sockets every node's TcpL4Protocol still holds (listeners created outside it aside). */
uint32_t
OpenTcpSockets()
{
    uint32_t n = 0;
    for (auto it = NodeList::Begin(); it != NodeList::End(); ++it)
    {
        if (auto tcp = (*it)->GetObject<TcpL4Protocol>())
        {
            ObjectMapValue sockets;
            tcp->GetAttribute("SocketList", sockets);
            n += sockets.GetN();
        }
    }
    return n;
}

/** --progressEvery's line: one window of tasks (a leak shows as growth across windows). */
class ProgressWindow
{
  public:
    explicit ProgressWindow(const std::string& program)
        : m_program(program),
          m_events(Simulator::GetEventCount()),
          m_cpuS(ProcessCpuS())
    {
    }

    /**
     * Print the window that ends after task \p lastTask (\p tasks tasks, \p wallS s), then the
     * scenario's \p note (SteppedScenario::ProgressNote). The
     * process CPU time (ms per task, us per event) is the load-robust speed: wall time
     * also counts the time other processes held the CPU.
     */
    void Print(uint32_t lastTask, uint32_t tasks, double wallS, const std::string& note)
    {
        const uint64_t events = Simulator::GetEventCount();
        const double cpuS = ProcessCpuS();
        const uint32_t n = std::max<uint32_t>(tasks, 1);
        std::cerr << m_program << ": tasks " << lastTask + 1 - tasks << "-" << lastTask << ": "
                  << (events - m_events) / n << " events/task, " << wallS / n * 1e3
                  << " ms/task, " << ResidentMb() << " MB resident, " << OpenTcpSockets()
                  << " TCP sockets, " << (cpuS - m_cpuS) / n * 1e3 << " CPU ms/task, "
                  << (cpuS - m_cpuS) / std::max<uint64_t>(events - m_events, 1) * 1e6
                  << " CPU us/event" << note << "\n";
        m_events = events;
        m_cpuS = cpuS;
    }

  private:
    /** CPU time this process has used so far (s). */
    static double ProcessCpuS()
    {
        timespec ts{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
    }

    std::string m_program;
    uint64_t m_events;
    double m_cpuS;
};

/** Standalone round \p i's task for user \p u: the script's task i + u (cycled). */
NetmoeAction
ScriptedAction(const DriverOptions& o, uint32_t i, uint32_t u, uint32_t numUsers)
{
    NetmoeAction a{};
    a.command = NETMOE_CMD_STEP;
    a.num_users = numUsers;
    a.task_id = i;
    const auto& targets = o.plan[(i + u) % o.plan.size()];
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
    a.start_offset_s = numUsers > 1 ? o.offsets[u % o.offsets.size()] : 0.0;
    return a;
}

/** One standalone JSON line: a user's report, or with several users the round's. */
std::string
RoundToJson(const NetmoeReport* reports, uint32_t numUsers, uint32_t round, bool serving)
{
    if (numUsers == 1)
    {
        return ReportToJson(reports[0], serving); // what one user printed before users
    }
    std::string out = "{\"round\": " + std::to_string(round) + ", \"users\": [";
    for (uint32_t u = 0; u < numUsers; ++u)
    {
        out += (u ? ", " : "") + ReportToJson(reports[u], serving, true);
    }
    return out + "]}";
}

int
RunStandalone(SteppedScenario& scenario, const DriverOptions& o)
{
    const uint32_t m = scenario.NumUsers();
    std::vector<NetmoeReport> reports(m);
    std::vector<NetmoeAction> actions(m);
    double wallTotal = 0;
    double wallWindow = 0;
    ProgressWindow progress(o.program);
    for (uint32_t i = 0; i < o.tasks; ++i)
    {
        for (uint32_t u = 0; u < m; ++u)
        {
            actions[u] = ScriptedAction(o, i, u, m);
            std::string error = scenario.CheckAction(actions[u]);
            if (!error.empty())
            {
                NS_FATAL_ERROR(o.program << ": " << error);
            }
            ClearReport(reports[u]);
        }
        auto t0 = std::chrono::steady_clock::now();
        scenario.Step(actions.data(), reports.data());
        for (auto& r : reports)
        {
            r.sim_events = Simulator::GetEventCount();
        }
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        wallTotal += wall;
        wallWindow += wall;
        std::cout << RoundToJson(reports.data(), m, i, o.serving) << std::endl;
        if (o.progressEvery > 0 && (i + 1) % o.progressEvery == 0)
        {
            progress.Print(i, o.progressEvery, wallWindow, scenario.ProgressNote());
            wallWindow = 0;
        }
    }
    std::cerr << o.program << ": " << o.tasks << " tasks, "
              << (o.tasks ? wallTotal / o.tasks * 1e3 : 0) << " ms wall per task (ns-3 only), "
              << Simulator::GetEventCount() << " events in all\n";
    return 0;
}

/** Serve one episode's rounds until Python sends RESET or STOP. */
void
RunBridge(SteppedScenario& scenario, ScenarioBridge& bridge, const DriverOptions& o)
{
    const uint32_t m = scenario.NumUsers();
    NetmoeReport* reports = bridge.Reports();
    for (uint32_t u = 0; u < m; ++u)
    {
        ClearReport(reports[u]);
    }
    scenario.Observe(reports, NETMOE_STATUS_READY);
    for (uint32_t u = 0; u < m; ++u)
    {
        reports[u].sim_events = Simulator::GetEventCount();
    }
    std::vector<NetmoeAction> actions(m);
    while (bridge.Exchange())
    {
        // a copy: Python may reuse the slots
        std::copy(bridge.Actions(), bridge.Actions() + m, actions.begin());
        const uint32_t asked = std::max<uint32_t>(1, actions[0].num_users);
        std::string error;
        if (asked != m)
        {
            error = "num_users " + std::to_string(asked) + ", but the scenario has " +
                    std::to_string(m) + " user devices (--numUsers)";
        }
        for (uint32_t u = 0; u < m && error.empty(); ++u)
        {
            error = scenario.CheckAction(actions[u]);
            if (!error.empty() && m > 1)
            {
                error = "user " + std::to_string(u) + ": " + error;
            }
        }
        if (!error.empty())
        {
            bridge.SetError(o.program + ": bad action: " + error);
            NS_FATAL_ERROR(o.program << ": bad action: " << error);
        }
        if (bridge.IsTryChild())
        {
            // A try is priced on its round's measurements, all taken by the round's end;
            // the copy exits after its report, so simulating the gap would be wasted
            // (30% of a default try's events, bench/try_cost.py): it observes at the round's end.
            actions[0].next_gap_s = 0;
        }
        scenario.Step(actions.data(), reports);
        for (uint32_t u = 0; u < m; ++u)
        {
            reports[u].sim_events = Simulator::GetEventCount();
        }
    }
}

} // namespace

int
RunScenario(SteppedScenario& scenario, const DriverOptions& options)
{
    scenario.Advance(options.warmup);
    const int rc = RunStandalone(scenario, options);
    scenario.Finish();
    Simulator::Destroy();
    return rc;
}

int
ServeBridge(const std::function<std::unique_ptr<SteppedScenario>()>& build,
            const DriverOptions& o)
{
    try
    {
        ScenarioBridge bridge(o.bridgeFd, o.bridgeName, o.spinUs, o.bridgeTimeout);
        int64_t run = -1;
        if (!bridge.NextEpisode(run))
        {
            return 0; // the parent: Python sent STOP
        }
        // an episode's child: nothing was built before the fork, so setting the run
        // number now gives the episode a new process with --RngRun=run would give
        if (run >= 0)
        {
            RngSeedManager::SetRun(static_cast<uint64_t>(run));
        }
        std::unique_ptr<SteppedScenario> scenario = build();
        scenario->Advance(o.warmup);
        RunBridge(*scenario, bridge, o);
        scenario->Finish();
        Simulator::Destroy();
    }
    catch (const BridgeError& e)
    {
        std::cerr << o.program << ": " << e.what() << std::endl;
        return 3;
    }
    return 0;
}

} // namespace netmoe
