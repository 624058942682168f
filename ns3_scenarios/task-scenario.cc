/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The task loop shared by edge-moe and edge-moe-lte (see task-scenario.h).
 */
#include "task-scenario.h"

#include "task-action-check.h"
#include "transfer-report.h"

#include "ns3/abort.h"
#include "ns3/config.h"
#include "ns3/double.h"
#include "ns3/mobility-model.h"
#include "ns3/node.h"
#include "ns3/nstime.h"
#include "ns3/simulator.h"
#include "ns3/uinteger.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>

namespace netmoe
{

using namespace ns3;

namespace
{
constexpr uint16_t kTaskBasePort = 5000;
constexpr uint16_t kProbePort = 7; // echo
const double kNaN = std::numeric_limits<double>::quiet_NaN();
} // namespace

TaskScenario::TaskScenario(const std::string& program,
                           const std::vector<NodeSpec>& nodes,
                           uint32_t numUsers,
                           uint32_t tcpSegmentSize,
                           double synTimeout,
                           const ServingConfig& serving,
                           const ObserveConfig& observe)
    : m_numUsers(numUsers),
      m_numExperts(static_cast<uint32_t>(nodes.size()) - numUsers),
      m_serving(serving),
      m_observe(observe)
{
    NS_ABORT_MSG_IF(numUsers < 1 || numUsers > NETMOE_MAX_USERS,
                    program << ": 1.." << NETMOE_MAX_USERS << " user devices");
    NS_ABORT_MSG_IF(nodes.size() < numUsers + 1 || m_numExperts > NETMOE_MAX_EXPERTS,
                    program << ": 1.." << NETMOE_MAX_EXPERTS << " experts");
    NS_ABORT_MSG_IF(!(synTimeout > 0 && std::isfinite(synTimeout)),
                    program << ": --synTimeout must be a number > 0");
    Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(tcpSegmentSize));
    // A lost SYN is resent after ConnTimeout. ns-3's default, 3 s, is RFC 1122's; RFC 6298
    // (2.1) and Linux start every RTO, the SYN's included, at 1 s, as ns-3 does for data.
    Config::SetDefault("ns3::TcpSocket::ConnTimeout", TimeValue(Seconds(synTimeout)));
    // A closed connection waits 2 MSL in TIME_WAIT before its socket and endpoint are freed.
    // ns-3's MSL is RFC 793's 2 min (a 4 min TIME_WAIT); Linux waits 60 s (TCP_TIMEWAIT_LEN).
    // With one connection per subtask, 4 min held hundreds of idle sockets, each one more
    // endpoint for every arriving segment to be matched against.
    Config::SetDefault("ns3::TcpSocketBase::MaxSegLifetime", DoubleValue(30));
    // Every device's default queue disc is FqCoDel, which creates a CoDel queue (about
    // 3 kB of ns-3 objects) for each new flow hash and never frees it, up to its Flows
    // buckets: with a new connection per subtask, ns-3's 1024 buckets per device grew for
    // thousands of tasks. 64 buckets still give each of the few flows a device ever has
    // queued at once (subtasks, heartbeats) its own queue in practice.
    Config::SetDefault("ns3::FqCoDelQueueDisc::Flows", UintegerValue(64));
}

void
TaskScenario::CreateNodes(const std::vector<NodeSpec>& nodes,
                          const Area& area,
                          const std::string& ns2Trace)
{
    // user 0 and the experts first, as with one user; the other users after them
    NodeContainer first;
    first.Create(1);
    m_experts.Create(m_numExperts);
    NodeContainer others;
    others.Create(m_numUsers - 1);
    m_ue = NodeContainer(first, others);
    NodeContainer people(m_ue, m_experts); // the --nodes order: users, then experts
    InstallMobility(people, nodes, area);
    InstallNs2Mobility(people, nodes, ns2Trace);
}

void
TaskScenario::CreateRunner(const std::vector<Ipv4Address>& expertIps)
{
    std::vector<LlmServer*> servers;
    if (m_serving.enabled)
    {
        const uint32_t chunk = m_serving.streaming ? m_serving.tokensPerChunk : 0;
        for (uint32_t e = 0; e < m_experts.GetN(); ++e)
        {
            m_servers.push_back(std::make_unique<LlmServer>(m_serving.experts.at(e), chunk, true));
            m_servers.back()->SetStartedCallback(MakeCallback(&TaskScenario::ServerStarted, this));
            m_servers.back()->SetTokensCallback(MakeCallback(&TaskScenario::ServerTokens, this));
            servers.push_back(m_servers.back().get());
        }
    }
    for (uint32_t u = 0; u < m_numUsers; ++u)
    {
        // each user its own ports: a connection never collides with another user's
        const auto base = static_cast<uint16_t>(kTaskBasePort + u * NETMOE_MAX_SUBTASKS);
        m_runners.push_back(std::make_unique<TaskRunner>(m_ue.Get(u), m_experts, expertIps,
                                                         base, m_serving, servers,
                                                         u * NETMOE_MAX_SUBTASKS));
        m_runners.back()->SetDoneCallback(MakeCallback(&TaskScenario::UserDone, this).Bind(u));
    }
    m_lastGoodput.assign(m_numUsers, std::vector<double>(m_numExperts, 0.0));
    m_settled.assign(m_numUsers, true);
    m_userEnd.assign(m_numUsers, Time());
    m_userDeadlines.assign(m_numUsers, EventId());
    m_energyStart.assign(m_numUsers, 0.0);
    m_energyEnd.assign(m_numUsers, 0.0);
}

void
TaskScenario::ServerStarted(uint32_t id, double queueWaitS)
{
    m_runners.at(id / NETMOE_MAX_SUBTASKS)->GenerationStarted(id % NETMOE_MAX_SUBTASKS, queueWaitS);
}

void
TaskScenario::ServerTokens(uint32_t id, uint32_t tokens)
{
    m_runners.at(id / NETMOE_MAX_SUBTASKS)->TokensOut(id % NETMOE_MAX_SUBTASKS, tokens);
}

void
TaskScenario::CreateProbes(Ipv4Address broadcast,
                           const std::vector<Ipv4Address>& expertIps,
                           uint32_t reachable)
{
    if (!m_observe.Probing())
    {
        return;
    }
    m_probeReachable = reachable;
    NodeContainer responders;
    for (uint32_t e = 0; e < reachable; ++e)
    {
        responders.Add(m_experts.Get(e));
    }
    m_probes = std::make_unique<Probes>(m_ue.Get(0), broadcast, responders,
                                        std::vector<Ipv4Address>(expertIps.begin(),
                                                                 expertIps.begin() + reachable),
                                        kProbePort, Seconds(m_observe.probeJitter),
                                        m_observe.probeAnswers);
    m_probes->SetAllAnsweredCallback(MakeCallback(&TaskScenario::ProbesAnswered, this));
}

void
TaskScenario::PrintProbeSummary(const std::string& program) const
{
    if (m_probes)
    {
        std::clog << program << ": probes sent " << m_probes->Sent() << ", answered "
                  << m_probes->Answered() << "\n";
    }
}

void
TaskScenario::Advance(double seconds)
{
    if (!(seconds > 0))
    {
        return; // the decision is now: the observation is what was heard
    }
    if (m_probes)
    {
        // in the user device's context, once the simulation runs (not at t = 0, before
        // the devices exist on the air)
        m_gapRepairInterval = m_observe.probeMaxAge;
        Simulator::ScheduleWithContext(m_ue.Get(0)->GetId(), Seconds(0),
                                       &TaskScenario::RepairQuery, this);
        const double lead = std::min(m_observe.probeLead, seconds);
        Simulator::ScheduleWithContext(m_ue.Get(0)->GetId(), Seconds(seconds - lead),
                                       &TaskScenario::ProbeStale, this,
                                       Simulator::Now() + Seconds(seconds));
    }
    Simulator::Stop(Seconds(seconds));
    Simulator::Run();
    Simulator::Cancel(m_gapRepair); // the decision's own query asks whoever is still out
    if (m_probes && m_probes->Outstanding() > 0)
    {
        // Answers missing at the decision: ask the missing experts again every
        // --probeLead, for at most --probeMaxAge (a later answer would be no fresher).
        m_waitingForProbes = true;
        const Time limit = Simulator::Now() + Seconds(m_observe.probeMaxAge);
        while (m_probes->Outstanding() > 0 && Simulator::Now() < limit)
        {
            m_probes->Requery();
            EventId timeout = Simulator::Stop(std::min(Seconds(m_observe.probeLead),
                                                       limit - Simulator::Now()));
            Simulator::Run();
            Simulator::Cancel(timeout);
        }
        m_waitingForProbes = false;
        if (m_answerFramesIn.IsPending())
        {
            Simulator::Run(); // the last answer's other frames; its Stop event ends the run
        }
    }
    if (m_probes)
    {
        m_probes->Forget();
    }
}

void
TaskScenario::ProbesAnswered()
{
    if (!m_waitingForProbes)
    {
        return;
    }
    // The first frame of the last awaited answer is in: the decision waits for the rest of
    // its frames (--probeAnswers), so that they are samples of this decision and do not
    // fall into the task.
    const double spread = m_observe.AnswerSpread();
    if (spread > 0)
    {
        m_answerFramesIn = Simulator::Stop(Seconds(spread + kAnswerSpacingS));
    }
    else
    {
        Simulator::Stop();
    }
}

void
TaskScenario::RepairQuery()
{
    // An expert the access point dropped (edge of range) still believes it is associated
    // until it sends something; with heartbeats that is within 0.1 s. Asking it at the
    // start of the gap, and again after --probeMaxAge (one heartbeat period), then at
    // doubling intervals up to --probeRepairMax while it is still out (probes.h), gets it
    // deauthenticated and associated again before the decision
    // (re-association takes a beacon interval or more, longer than --probeLead): a lost
    // query or answer, or a failed re-association, no longer leaves it out until the
    // next gap. Nothing is awaited: one out of range cannot answer.
    if (Simulator::Now().IsZero())
    {
        return; // the warm-up: nobody has associated yet
    }
    std::vector<bool> asked(m_probeReachable, false);
    bool any = false;
    for (uint32_t e = 0; e < m_probeReachable; ++e)
    {
        asked[e] = !IsAssociated(0, e);
        any = any || asked[e];
    }
    if (any)
    {
        m_probes->Ask(asked);
        m_gapRepair = Simulator::Schedule(Seconds(m_gapRepairInterval),
                                          &TaskScenario::RepairQuery, this);
        m_gapRepairInterval = m_observe.NextRepairInterval(m_gapRepairInterval);
    }
}

void
TaskScenario::ExpertDropped(uint32_t e)
{
    if (!m_probes || e >= m_probeReachable || !AnyUserWaitsFor(e))
    {
        return;
    }
    if (m_taskRepair.IsPending() &&
        Simulator::GetDelayLeft(m_taskRepair) <= Seconds(m_observe.probeLead))
    {
        // the next repair query is as soon as a fresh start's second one; the intervals
        // after it start again
        m_taskRepairInterval = m_observe.probeLead;
        return;
    }
    // After the event that dropped it (the access point's MAC is still in it), in the
    // user device's context; a new drop starts the repair's intervals again.
    Simulator::Cancel(m_taskRepair);
    m_taskRepairInterval = m_observe.probeLead;
    m_taskRepair = Simulator::ScheduleNow(&TaskScenario::RepairDuringTask, this);
}

bool
TaskScenario::AnyUserWaitsFor(uint32_t e) const
{
    // user 0 is the access point: it relays the other users' requests, so it knows whom
    // their tasks wait for as well as its own
    return std::any_of(m_runners.begin(), m_runners.end(),
                       [e](const auto& runner) { return runner->WaitsFor(e); });
}

void
TaskScenario::RestartTaskRepair()
{
    m_restartPending = false;
    Simulator::Cancel(m_taskRepair); // one chain of repair queries for all the users
    m_taskRepairInterval = m_observe.probeLead;
    RepairDuringTask();
}

void
TaskScenario::LaunchAndRepair()
{
    m_runners[0]->Launch();
    RestartTaskRepair(); // the task waits for its experts from now on
}

void
TaskScenario::RepairDuringTask()
{
    // The user device does not count associated an expert whose reply its task waits for
    // (it dropped it during the task, or the gap's repair queries did not bring it back
    // in time). Left alone, the
    // expert still believes it is associated and, with nothing to send (it waits for
    // request bytes the access point now discards), stays cut off until the next gap's
    // repair query: the reply is lost. Asked now, it answers, is deauthenticated on that
    // frame and associates again (range-edge.h), and TCP's retransmissions get through.
    // A query or an answer can be lost, and a re-association takes a beacon interval or
    // more: ask again after --probeLead, then at doubling intervals up to --probeRepairMax
    // (probes.h), while the task waits and the expert is still out.
    std::vector<bool> asked(m_probeReachable, false);
    bool any = false;
    for (uint32_t e = 0; e < m_probeReachable; ++e)
    {
        asked[e] = !IsAssociated(0, e) && AnyUserWaitsFor(e);
        any = any || asked[e];
    }
    if (any)
    {
        m_probes->Ask(asked);
        m_taskRepair = Simulator::Schedule(Seconds(m_taskRepairInterval),
                                           &TaskScenario::RepairDuringTask, this);
        m_taskRepairInterval = m_observe.NextRepairInterval(m_taskRepairInterval);
    }
}

void
TaskScenario::ProbeStale(Time decision)
{
    const double ahead = (decision - Simulator::Now()).GetSeconds();
    // Any stale expert triggers the query (a wired server's freshness is the user
    // device's own hop, which the relayed query and the answers refresh); only the
    // experts the query reaches are asked.
    bool stale = false;
    std::vector<bool> asked(m_probeReachable, false);
    std::vector<bool> awaited(m_probeReachable, false);
    for (uint32_t e = 0; e < m_numExperts; ++e)
    {
        const double age = SecondsSinceHeard(0, e);
        if (std::isnan(age) || age + ahead > m_observe.probeMaxAge)
        {
            // Every stale expert is asked: one the access point dropped may still believe
            // it is associated, answer, and be told to associate again. Only the
            // associated ones can answer the user device, so only they are waited for.
            stale = true;
            if (e < m_probeReachable)
            {
                asked[e] = true;
                awaited[e] = IsAssociated(0, e);
            }
        }
    }
    if (stale)
    {
        m_probes->Query(asked, awaited);
    }
}

std::string
TaskScenario::CheckAction(const NetmoeAction& a) const
{
    return CheckTaskAction(a, m_numExperts);
}

uint32_t
TaskScenario::NumUsers() const
{
    return m_numUsers;
}

void
TaskScenario::UserDone(uint32_t u)
{
    if (m_settled.at(u))
    {
        return;
    }
    m_settled[u] = true;
    m_userEnd[u] = Simulator::Now();
    if (m_numUsers > 1)
    {
        m_energyEnd[u] = UserEnergyJ(u);
        Simulator::Cancel(m_userDeadlines[u]);
    }
    if (--m_unsettled == 0)
    {
        Simulator::Stop();
    }
}

void
TaskScenario::UserDeadline(uint32_t u)
{
    if (m_settled.at(u))
    {
        return;
    }
    m_settled[u] = true;
    m_userEnd[u] = Simulator::Now();
    m_energyEnd[u] = UserEnergyJ(u);
    m_runners[u]->Abort(); // only this user's late replies are lost
    if (--m_unsettled == 0)
    {
        Simulator::Stop();
    }
}

void
TaskScenario::LaunchUser(uint32_t u)
{
    m_energyStart[u] = UserEnergyJ(u);
    m_runners[u]->Launch();
    if (m_probes && !m_restartPending)
    {
        // user u's task waits for its experts from now on; the access point (user 0)
        // sends the repair queries, in its own context, once for users launched at the
        // same instant. (A restart left over when a round ends asks nobody: every runner
        // has stopped waiting by then.)
        m_restartPending = true;
        Simulator::ScheduleWithContext(m_ue.Get(0)->GetId(), Seconds(0),
                                       &TaskScenario::RestartTaskRepair, this);
    }
}

void
TaskScenario::Step(const NetmoeAction* a, NetmoeReport* r)
{
    const uint32_t n = m_numExperts;
    BeginTask();
    for (auto& server : m_servers)
    {
        server->ResetStats();
    }
    const Time start = Simulator::Now();
    m_unsettled = 0;
    for (uint32_t u = 0; u < m_numUsers; ++u)
    {
        const Time offset = Seconds(a[u].start_offset_s);
        m_userEnd[u] = start + offset; // a task with nothing to wait for ends at once
        m_settled[u] = m_runners[u]->Prepare(a[u]) == 0;
        if (m_settled[u])
        {
            m_energyStart[u] = m_energyEnd[u] = 0; // nothing sent, nothing waited for
            continue;
        }
        ++m_unsettled;
        if (m_numUsers == 1)
        {
            if (m_probes)
            {
                Simulator::ScheduleWithContext(m_ue.Get(0)->GetId(), offset,
                                               &TaskScenario::LaunchAndRepair, this);
            }
            else
            {
                Simulator::ScheduleWithContext(m_ue.Get(0)->GetId(), offset,
                                               &TaskRunner::Launch, m_runners[0].get());
            }
            m_deadline = Simulator::Stop(offset + Seconds(a[0].deadline_s));
        }
        else
        {
            Simulator::ScheduleWithContext(m_ue.Get(u)->GetId(), offset,
                                           &TaskScenario::LaunchUser, this, u);
            m_userDeadlines[u] = Simulator::Schedule(offset + Seconds(a[u].deadline_s),
                                                     &TaskScenario::UserDeadline, this, u);
        }
    }
    if (m_unsettled > 0)
    {
        Simulator::Run();
    }
    Simulator::Cancel(m_deadline);
    Simulator::Cancel(m_taskRepair); // the gap has its own repair query
    for (uint32_t u = 0; u < m_numUsers; ++u)
    {
        Simulator::Cancel(m_userDeadlines[u]);
        if (m_numUsers == 1)
        {
            m_userEnd[u] = Simulator::Now(); // the deadline's stop, or the last reply
        }
    }
    for (auto& runner : m_runners)
    {
        runner->Abort();
    }

    for (uint32_t u = 0; u < m_numUsers; ++u)
    {
        const uint32_t K = a[u].num_subtasks;
        const Time userStart = start + Seconds(a[u].start_offset_s);
        const double taskS = (m_userEnd[u] - userStart).GetSeconds();
        const TaskRunner& runner = *m_runners[u];
        NetmoeReport& ru = r[u];
        ru.task_id = a[u].task_id;
        ru.num_experts = n;
        ru.num_subtasks = K;
        ru.task_start_s = userStart.GetSeconds();
        ru.task_end_s = m_userEnd[u].GetSeconds();
        FillTransferReport(runner.Subtasks(), n, K, taskS, ru, m_lastGoodput[u]);
        FillServingReport(runner.Subtasks(), K, taskS, runner.FusionSeconds(), runner.Serving(),
                          ru);
        FillLinkReport(u, ru, taskS);
        if (m_numUsers > 1)
        {
            ru.ue_energy_j = m_energyEnd[u] - m_energyStart[u]; // over its own task
        }
        FillRoundReport(ru);
    }

    Advance(a[0].next_gap_s);
    Observe(r, NETMOE_STATUS_STEPPED);
}

void
TaskScenario::FillRoundReport(NetmoeReport& r) const
{
    for (uint32_t e = 0; e < NETMOE_MAX_EXPERTS; ++e)
    {
        const bool valid = e < m_servers.size();
        r.expert_queue_len_mean[e] = valid ? m_servers[e]->MeanLength() : kNaN;
        r.expert_queue_len_max[e] = valid ? m_servers[e]->MaxLength() : 0;
    }
}

void
TaskScenario::Observe(NetmoeReport* reports, uint32_t status)
{
    for (uint32_t u = 0; u < m_numUsers; ++u)
    {
        NetmoeReport& r = reports[u];
        r.status = status;
        r.num_experts = m_numExperts;
        r.sim_time_s = Simulator::Now().GetSeconds();
        auto origin = DistanceOrigin(u)->GetObject<MobilityModel>();
        for (uint32_t e = 0; e < NETMOE_MAX_EXPERTS; ++e)
        {
            const bool valid = e < m_numExperts;
            r.obs_snr_db[e] = valid ? ObservedSnrDb(u, e) : kNaN;
            r.obs_goodput_mbps[e] = valid ? m_lastGoodput[u][e] : 0.0;
            r.obs_age_s[e] = valid ? SecondsSinceHeard(u, e) : kNaN;
            r.obs_associated[e] = valid && IsAssociated(u, e) ? 1 : 0;
            r.distance_m[e] =
                valid ? origin->GetDistanceFrom(m_experts.Get(e)->GetObject<MobilityModel>())
                      : kNaN;
            r.obs_queue_len[e] = valid ? m_runners[u]->ObservedQueueLength(e) : kNaN;
            r.obs_queue_age_s[e] = valid ? m_runners[u]->SecondsSinceQueueReport(e) : kNaN;
        }
    }
}

} // namespace netmoe
