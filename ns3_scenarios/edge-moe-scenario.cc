/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The edge-moe scenario, task by task (see edge-moe-scenario.h).
 */
#include "edge-moe-scenario.h"

#include "ns3/config.h"
#include "ns3/internet-stack-helper.h"
#include "ns3/ipv4-address-helper.h"
#include "ns3/ipv4-interface-container.h"
#include "ns3/log.h"
#include "ns3/mobility-model.h"
#include "ns3/neighbor-cache-helper.h"
#include "ns3/simulator.h"
#include "ns3/uinteger.h"

#include <algorithm>
#include <iostream>
#include <cmath>
#include <limits>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeEdgeMoeScenario");

using namespace ns3;

namespace
{
constexpr uint16_t kHeartbeatPort = 9;
constexpr uint16_t kTaskBasePort = 5000;
const double kNaN = std::numeric_limits<double>::quiet_NaN();
} // namespace

EdgeMoeScenario::EdgeMoeScenario(const ScenarioConfig& config)
    : m_config(config),
      m_numExperts(static_cast<uint32_t>(config.nodes.size()) - 1)
{
    NS_ABORT_MSG_IF(config.nodes.size() < 2 || m_numExperts > NETMOE_MAX_EXPERTS,
                    "edge-moe: 1.." << NETMOE_MAX_EXPERTS << " experts");
    Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(config.tcpSegmentSize));

    m_ue.Create(1);
    m_experts.Create(m_numExperts);
    NodeContainer all(m_ue, m_experts);
    InstallMobility(all, config.nodes, config.area);
    InstallNs2Mobility(all, config.nodes, config.ns2Trace);
    m_net = BuildWifiNetwork(m_config.wifi, m_ue.Get(0), m_experts);

    InternetStackHelper internet;
    internet.Install(all);
    Ipv4AddressHelper ip;
    ip.SetBase("10.1.0.0", "255.255.0.0");
    Ipv4InterfaceContainer ueIf = ip.Assign(m_net.ueDevice);
    Ipv4InterfaceContainer expertIf = ip.Assign(m_net.expertDevices);
    // Static ARP, as a hotspot knows its clients from DHCP: no ARP exchange in the delays.
    NeighborCacheHelper neighbors;
    neighbors.PopulateNeighborCache();

    std::vector<Ipv4Address> expertIps;
    for (uint32_t e = 0; e < m_numExperts; ++e)
    {
        expertIps.push_back(expertIf.GetAddress(e));
    }
    m_monitor = std::make_unique<LinkMonitor>(m_net, expertIps, config.snrAlpha);
    m_runner = std::make_unique<TaskRunner>(m_ue.Get(0), m_experts, expertIps, kTaskBasePort);
    m_runner->SetDoneCallback(MakeCallback(&EdgeMoeScenario::AllRepliesIn, this));
    m_heartbeats = std::make_unique<Heartbeats>(m_ue.Get(0),
                                                ueIf.GetAddress(0),
                                                m_experts,
                                                kHeartbeatPort,
                                                config.heartbeatBytes,
                                                Seconds(config.heartbeatInterval));
    m_lastGoodput.assign(m_numExperts, 0.0);

    // Optional parts; none of them draws random numbers or creates nodes when off.
    NetDeviceContainer devices(m_net.ueDevice, m_net.expertDevices);
    if (config.background.stations > 0)
    {
        m_background = std::make_unique<BackgroundLoad>(config.background, m_config.wifi,
                                                        m_net.channel);
    }
    if (config.building.enabled || m_config.wifi.propagation == "buildings")
    {
        InstallBuilding(config.building); // after every node exists and has its mobility
    }
    if (!config.pcapPrefix.empty() || !config.flowmonXml.empty())
    {
        m_outputs = std::make_unique<ExtraOutputs>(config.pcapPrefix, config.flowmonXml, devices);
    }
}

void
EdgeMoeScenario::Finish()
{
    if (m_outputs)
    {
        m_outputs->Finish();
    }
    if (m_background)
    {
        std::clog << "edge-moe: neighbouring BSS delivered " << m_background->BytesReceived()
                  << " bytes in " << Simulator::Now().GetSeconds() << " s\n";
    }
}

uint32_t
EdgeMoeScenario::NumExperts() const
{
    return m_numExperts;
}

void
EdgeMoeScenario::Advance(double seconds)
{
    if (seconds > 0)
    {
        Simulator::Stop(Seconds(seconds));
        Simulator::Run();
    }
}

std::string
EdgeMoeScenario::CheckAction(const NetmoeAction& a) const
{
    return CheckTaskAction(a, m_numExperts);
}

void
EdgeMoeScenario::AllRepliesIn()
{
    Simulator::Stop();
}

void
EdgeMoeScenario::Step(const NetmoeAction& a, NetmoeReport& r)
{
    const uint32_t n = m_numExperts;
    const uint32_t K = a.num_subtasks;
    m_monitor->BeginWindow();
    const double energy0 = m_net.ueRadio->GetTotalEnergyConsumption();
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
    r.ue_energy_j = m_net.ueRadio->GetTotalEnergyConsumption() - energy0;

    const double volts = m_net.ueSource->GetSupplyVoltage();
    const double txW = volts * m_net.ueRadio->GetTxCurrentA();
    const double rxW = volts * m_net.ueRadio->GetRxCurrentA();
    FillTransferReport(m_runner->Subtasks(), n, K, taskS, r, m_lastGoodput);
    for (uint32_t e = 0; e < n; ++e)
    {
        const LinkWindow& w = m_monitor->Window(e);
        if (w.snrSamples > 0)
        {
            r.snr_db[e] = w.snrSumDb / w.snrSamples;
        }
        r.energy_j[e] = w.txAirtime.GetSeconds() * txW + w.rxAirtime.GetSeconds() * rxW;
        r.packets_sent[e] = w.dataSent;
        r.packets_lost[e] = w.lost;
        r.retransmissions[e] = w.retries;
    }

    Advance(a.next_gap_s);
    Observe(r, NETMOE_STATUS_STEPPED);
}

void
EdgeMoeScenario::Observe(NetmoeReport& r, uint32_t status)
{
    r.status = status;
    r.num_experts = m_numExperts;
    r.sim_time_s = Simulator::Now().GetSeconds();
    auto ueMobility = m_ue.Get(0)->GetObject<MobilityModel>();
    for (uint32_t e = 0; e < NETMOE_MAX_EXPERTS; ++e)
    {
        const bool valid = e < m_numExperts;
        r.obs_snr_db[e] = valid ? m_monitor->ObservedSnrDb(e) : kNaN;
        r.obs_goodput_mbps[e] = valid ? m_lastGoodput[e] : 0.0;
        r.obs_age_s[e] = valid ? m_monitor->SecondsSinceHeard(e) : kNaN;
        r.obs_associated[e] = valid && m_monitor->IsAssociated(e) ? 1 : 0;
        r.distance_m[e] =
            valid ? ueMobility->GetDistanceFrom(m_experts.Get(e)->GetObject<MobilityModel>())
                  : kNaN;
    }
}

} // namespace netmoe
