/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The edge-moe-lte scenario, task by task (see edge-moe-lte-scenario.h).
 */
#include "edge-moe-lte-scenario.h"

#include "ns3/config.h"
#include "ns3/constant-position-mobility-model.h"
#include "ns3/log.h"
#include "ns3/mobility-model.h"
#include "ns3/node.h"
#include "ns3/simulator.h"
#include "ns3/uinteger.h"

#include <cmath>
#include <iostream>
#include <limits>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeEdgeMoeLteScenario");

using namespace ns3;

namespace
{
constexpr uint16_t kTaskBasePort = 5000;
const double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kSubframeS = 1e-3;

/** A node that stays at \p p. */
void
PlaceAt(Ptr<Node> node, const Vector& p)
{
    auto mm = CreateObject<ConstantPositionMobilityModel>();
    mm->SetPosition(p);
    node->AggregateObject(mm);
}
} // namespace

EdgeMoeLteScenario::EdgeMoeLteScenario(const LteScenarioConfig& config)
    : m_config(config),
      m_numExperts(static_cast<uint32_t>(config.nodes.size()) - 1)
{
    NS_ABORT_MSG_IF(config.nodes.size() < 2 || m_numExperts > NETMOE_MAX_EXPERTS,
                    "edge-moe-lte: 1.." << NETMOE_MAX_EXPERTS << " experts");
    Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(config.tcpSegmentSize));

    m_enb.Create(1);
    m_ue.Create(1);
    m_experts.Create(m_numExperts);
    NodeContainer people(m_ue, m_experts);
    InstallMobility(people, config.nodes, config.area);
    InstallNs2Mobility(people, config.nodes, config.ns2Trace);
    const LteConfig& c = config.lte;
    PlaceAt(m_enb.Get(0), c.enbPosition);
    m_load.Create(c.cellLoadUes);
    for (uint32_t i = 0; i < c.cellLoadUes; ++i)
    {
        const double a = 2 * M_PI * i / c.cellLoadUes;
        PlaceAt(m_load.Get(i),
                Vector(c.enbPosition.x + c.cellLoadRadius * std::cos(a),
                       c.enbPosition.y + c.cellLoadRadius * std::sin(a),
                       1.5));
    }
    m_net = BuildLteNetwork(c, m_enb.Get(0), m_ue.Get(0), m_experts, m_load);

    m_monitor = std::make_unique<LteMonitor>(m_net, config.snrAlpha);
    m_runner = std::make_unique<TaskRunner>(m_ue.Get(0), m_experts, m_net.expertIps,
                                            kTaskBasePort);
    m_runner->SetDoneCallback(MakeCallback(&EdgeMoeLteScenario::AllRepliesIn, this));
    m_lastGoodput.assign(m_numExperts, 0.0);
    if (c.cellLoadUes > 0)
    {
        m_cellLoad = std::make_unique<CellLoad>(m_load, m_net.loadIps, m_net.remoteHost,
                                                m_net.remoteHostIp, c.cellLoadMbps,
                                                c.cellLoadPacketBytes);
    }
}

void
EdgeMoeLteScenario::Finish()
{
    if (m_cellLoad)
    {
        std::clog << "edge-moe-lte: cell load delivered " << m_cellLoad->DownlinkBytes()
                  << " bytes downlink and " << m_cellLoad->UplinkBytes() << " bytes uplink in "
                  << Simulator::Now().GetSeconds() << " s\n";
    }
}

void
EdgeMoeLteScenario::Advance(double seconds)
{
    if (seconds > 0)
    {
        Simulator::Stop(Seconds(seconds));
        Simulator::Run();
    }
    m_monitor->ConnectBearers(); // once every UE is connected
}

std::string
EdgeMoeLteScenario::CheckAction(const NetmoeAction& a) const
{
    return CheckTaskAction(a, m_numExperts);
}

void
EdgeMoeLteScenario::AllRepliesIn()
{
    Simulator::Stop();
}

void
EdgeMoeLteScenario::Step(const NetmoeAction& a, NetmoeReport& r)
{
    const uint32_t n = m_numExperts;
    const uint32_t K = a.num_subtasks;
    m_monitor->ConnectBearers();
    m_monitor->BeginWindow();
    const Time start = Simulator::Now();
    if (m_runner->Prepare(a) > 0)
    {
        Simulator::ScheduleWithContext(m_ue.Get(0)->GetId(), Seconds(0), &TaskRunner::Launch,
                                       m_runner.get());
        m_deadline = Simulator::Stop(Seconds(a.deadline_s));
        Simulator::Run();
        Simulator::Cancel(m_deadline);
    }
    m_runner->Abort();
    const Time end = Simulator::Now();
    const double taskS = (end - start).GetSeconds();

    r.task_id = a.task_id;
    r.num_experts = n;
    r.num_subtasks = K;
    r.task_start_s = start.GetSeconds();
    r.task_end_s = end.GetSeconds();
    const LteUePower& pw = m_config.power;
    const double txJ = pw.txW * m_monitor->UserTxSubframes() * kSubframeS;
    const double rxJ = pw.rxW * m_monitor->UserRxSubframes() * kSubframeS;
    r.ue_energy_j = pw.baseW * taskS + txJ + rxJ;

    const auto& subtasks = m_runner->Subtasks();
    FillTransferReport(subtasks, n, K, taskS, r, m_lastGoodput);
    // The user's airtime energy, shared among experts by the bytes exchanged with each.
    std::vector<double> sent(n, 0.0);
    std::vector<double> received(n, 0.0);
    double sentAll = 0;
    double receivedAll = 0;
    for (const auto& t : subtasks)
    {
        if (t.target > 0)
        {
            sent[t.target - 1] += t.requestSent;
            received[t.target - 1] += t.replyReceived;
            sentAll += t.requestSent;
            receivedAll += t.replyReceived;
        }
    }
    for (uint32_t e = 0; e < n; ++e)
    {
        const LteLinkWindow& w = m_monitor->Window(e);
        if (w.sinrSamples > 0)
        {
            r.snr_db[e] = w.sinrSumDb / w.sinrSamples;
        }
        r.energy_j[e] = (sentAll > 0 ? txJ * sent[e] / sentAll : 0.0) +
                        (receivedAll > 0 ? rxJ * received[e] / receivedAll : 0.0);
        r.packets_sent[e] = w.tbs;
        r.packets_lost[e] = w.rlcDrops;
        r.retransmissions[e] = w.harqRetx;
    }

    Advance(a.next_gap_s);
    Observe(r, NETMOE_STATUS_STEPPED);
}

void
EdgeMoeLteScenario::Observe(NetmoeReport& r, uint32_t status)
{
    r.status = status;
    r.num_experts = m_numExperts;
    r.sim_time_s = Simulator::Now().GetSeconds();
    auto enbMobility = m_enb.Get(0)->GetObject<MobilityModel>();
    for (uint32_t e = 0; e < NETMOE_MAX_EXPERTS; ++e)
    {
        const bool valid = e < m_numExperts;
        r.obs_snr_db[e] = valid ? m_monitor->ObservedSinrDb(e) : kNaN;
        r.obs_goodput_mbps[e] = valid ? m_lastGoodput[e] : 0.0;
        r.obs_age_s[e] = valid ? m_monitor->SecondsSinceReport(e) : kNaN;
        r.obs_associated[e] = valid && m_monitor->IsConnected(e) ? 1 : 0;
        r.distance_m[e] =
            valid ? enbMobility->GetDistanceFrom(m_experts.Get(e)->GetObject<MobilityModel>())
                  : kNaN;
    }
}

} // namespace netmoe
