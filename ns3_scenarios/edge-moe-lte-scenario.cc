/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The edge-moe-lte scenario, task by task (see edge-moe-lte-scenario.h).
 */
#include "edge-moe-lte-scenario.h"

#include "ns3/constant-position-mobility-model.h"
#include "ns3/internet-stack-helper.h"
#include "ns3/log.h"
#include "ns3/mobility-model.h"
#include "ns3/node.h"
#include "ns3/simulator.h"

#include <cmath>
#include <iostream>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeEdgeMoeLteScenario");

using namespace ns3;

namespace
{
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
    : TaskScenario("edge-moe-lte",
                   config.nodes,
                   config.numUsers,
                   config.tcpSegmentSize,
                   config.synTimeout,
                   config.serving,
                   config.observe),
      m_config(config)
{
    m_enb.Create(1); // node 0, before the user device and the experts
    CreateNodes(config.nodes, config.area, config.ns2Trace);
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
    NodeContainer others; // users 1..M-1
    for (uint32_t u = 1; u < m_numUsers; ++u)
    {
        others.Add(m_ue.Get(u));
    }
    m_net = BuildLteNetwork(c, m_enb.Get(0), m_ue.Get(0), m_experts, m_load, others);

    // user u's view of the cell: its own UE, the same experts (their radio links are
    // theirs: every user offloading to an expert shares that link's counters)
    auto view = [this](uint32_t u) {
        LteNetwork v = m_net;
        if (u > 0)
        {
            v.userDevice = NetDeviceContainer(m_net.otherUsers.Get(u - 1));
            v.userIp = m_net.otherUserIps.at(u - 1);
        }
        return v;
    };
    for (uint32_t u = 0; u < m_numUsers; ++u)
    {
        m_monitors.push_back(std::make_unique<LteMonitor>(view(u), config.snrAlpha));
    }
    m_numWireless = m_numExperts;
    std::vector<Ipv4Address> expertIps = m_net.expertIps;
    if (config.wired.servers > 0)
    {
        // Edge servers at the eNB site, wired to the PGW: a UE reaches one up its own
        // radio link and through the S1-U tunnel, then the wire (its default route).
        m_servers.Create(config.wired.servers);
        PlaceNodes(m_servers, c.enbPosition);
        InternetStackHelper().Install(m_servers);
        WiredNetwork wired = BuildWiredServers(config.wired, m_net.pgw, m_servers, "2.0.0.0");
        expertIps.insert(expertIps.end(), wired.serverIps.begin(), wired.serverIps.end());
        m_experts.Add(m_servers);
        m_numExperts += m_servers.GetN();
        for (uint32_t u = 0; u < m_numUsers; ++u)
        {
            m_userSinr.push_back(std::make_unique<LteUserSinr>(view(u), config.snrAlpha));
        }
    }
    CreateRunner(expertIps);
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
    PrintProbeSummary("edge-moe-lte");
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
    TaskScenario::Advance(seconds);
    for (auto& monitor : m_monitors)
    {
        monitor->ConnectBearers(); // once every UE is connected
    }
}

void
EdgeMoeLteScenario::BeginTask()
{
    for (auto& monitor : m_monitors)
    {
        monitor->ConnectBearers();
        monitor->BeginWindow();
    }
    for (auto& sinr : m_userSinr)
    {
        sinr->BeginWindow();
    }
}

double
EdgeMoeLteScenario::UserEnergyJ(uint32_t u) const
{
    const LteUePower& pw = m_config.power;
    const LteMonitor& m = *m_monitors.at(u);
    return pw.baseW * Simulator::Now().GetSeconds() +
           (pw.txW * m.UserTxSubframesTotal() + pw.rxW * m.UserRxSubframesTotal()) * kSubframeS;
}

void
EdgeMoeLteScenario::FillLinkReport(uint32_t u, NetmoeReport& r, double taskS)
{
    const uint32_t n = m_numExperts;
    const LteUePower& pw = m_config.power;
    const LteMonitor& monitor = *m_monitors[u];
    const double txJ = pw.txW * monitor.UserTxSubframes() * kSubframeS;
    const double rxJ = pw.rxW * monitor.UserRxSubframes() * kSubframeS;
    r.ue_energy_j = pw.baseW * taskS + txJ + rxJ;

    // The user's airtime energy, shared among experts by the bytes exchanged with each.
    std::vector<double> sent(n, 0.0);
    std::vector<double> received(n, 0.0);
    double sentAll = 0;
    double receivedAll = 0;
    for (const auto& t : m_runners[u]->Subtasks())
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
        if (e >= m_numWireless) // a wired server: the user's radio hop, no radio link of its own
        {
            r.snr_db[e] = m_userSinr[u]->WindowMeanDb();
            r.energy_j[e] = (sentAll > 0 ? txJ * sent[e] / sentAll : 0.0) +
                            (receivedAll > 0 ? rxJ * received[e] / receivedAll : 0.0);
            continue;
        }
        const LteLinkWindow& w = monitor.Window(e);
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
}

double
EdgeMoeLteScenario::ObservedSnrDb(uint32_t u, uint32_t e) const
{
    return e < m_numWireless ? m_monitors[u]->ObservedSinrDb(e) : m_userSinr[u]->AverageDb();
}

double
EdgeMoeLteScenario::SecondsSinceHeard(uint32_t u, uint32_t e) const
{
    return e < m_numWireless ? m_monitors[u]->SecondsSinceReport(e)
                             : m_userSinr[u]->SecondsSinceLast();
}

bool
EdgeMoeLteScenario::IsAssociated(uint32_t u, uint32_t e) const
{
    return e < m_numWireless ? m_monitors[u]->IsConnected(e) : m_userSinr[u]->IsConnected();
}

Ptr<Node>
EdgeMoeLteScenario::DistanceOrigin(uint32_t /* u */) const
{
    return m_enb.Get(0); // distance_m: the expert's to the eNB (its radio link)
}

} // namespace netmoe
