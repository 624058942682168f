/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The edge-moe scenario, task by task (see edge-moe-scenario.h).
 */
#include "edge-moe-scenario.h"

#include "ns3/internet-stack-helper.h"
#include "ns3/ipv4-address-helper.h"
#include "ns3/ipv4-interface-container.h"
#include "ns3/log.h"
#include "ns3/neighbor-cache-helper.h"
#include "ns3/simulator.h"

#include <iostream>
#include <cmath>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeEdgeMoeScenario");

using namespace ns3;

namespace
{
constexpr uint16_t kHeartbeatPort = 9;
} // namespace

EdgeMoeScenario::EdgeMoeScenario(const ScenarioConfig& config)
    : TaskScenario("edge-moe",
                   config.nodes,
                   config.tcpSegmentSize,
                   config.synTimeout,
                   config.serving,
                   config.observe),
      m_config(config)
{
    CreateNodes(config.nodes, config.area, config.ns2Trace);
    NodeContainer all(m_ue, m_experts);
    m_net = BuildWifiNetwork(m_config.wifi, m_ue.Get(0), m_experts);
    if (config.lowAckThreshold > 0)
    {
        m_rangeEdge = std::make_unique<RangeEdge>(m_net.ueDevice.Get(0), m_net.expertDevices,
                                                  config.lowAckThreshold);
    }

    InternetStackHelper internet;
    internet.Install(all);
    Ipv4AddressHelper ip;
    ip.SetBase("10.1.0.0", "255.255.0.0");
    Ipv4InterfaceContainer ueIf = ip.Assign(m_net.ueDevice);
    Ipv4InterfaceContainer expertIf = ip.Assign(m_net.expertDevices);
    // Static ARP, as a hotspot knows its clients from DHCP: no ARP exchange in the delays.
    NeighborCacheHelper neighbors;
    neighbors.PopulateNeighborCache();
    // ns-3 flushes a device's ARP cache when its link goes down (an expert losing its
    // association) and would then mark the peer unreachable for 100 s after a failed
    // ARP exchange; the leases outlive a re-association, so refill after any change.
    m_bssDevices = NetDeviceContainer(m_net.ueDevice, m_net.expertDevices);
    for (uint32_t i = 0; config.keepStaticArp && i < m_bssDevices.GetN(); ++i)
    {
        m_bssDevices.Get(i)->AddLinkChangeCallback(
            MakeCallback(&EdgeMoeScenario::LinkChanged, this));
    }

    std::vector<Ipv4Address> expertIps;
    for (uint32_t e = 0; e < m_numExperts; ++e)
    {
        expertIps.push_back(expertIf.GetAddress(e));
    }
    m_monitor = std::make_unique<LinkMonitor>(m_net, expertIps, config.snrAlpha);
    CreateRunner(expertIps);
    if (config.observe.Probing())
    {
        const auto [ueIpv4, ueIfIndex] = ueIf.Get(0);
        CreateProbes(ueIpv4->GetAddress(ueIfIndex, 0).GetBroadcast(), expertIps);
    }
    else
    {
        m_heartbeats = std::make_unique<Heartbeats>(m_ue.Get(0),
                                                    ueIf.GetAddress(0),
                                                    m_experts,
                                                    kHeartbeatPort,
                                                    config.heartbeatBytes,
                                                    Seconds(config.heartbeatInterval));
    }

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
    PrintProbeSummary("edge-moe");
    if (m_outputs)
    {
        m_outputs->Finish();
    }
    if (m_rangeEdge)
    {
        const RangeEdgeCounts& c = m_rangeEdge->Counts();
        std::clog << "edge-moe: range edge, per expert, low-ack disassociations / "
                     "deauthentications:";
        for (uint32_t e = 0; e < m_numExperts; ++e)
        {
            std::clog << " " << c.disassociated[e] << "/" << c.deauthenticated[e];
        }
        std::clog << "\n";
    }
    if (m_background)
    {
        std::clog << "edge-moe: neighbouring BSS delivered " << m_background->BytesReceived()
                  << " bytes in " << Simulator::Now().GetSeconds() << " s\n";
    }
}

void
EdgeMoeScenario::LinkChanged()
{
    // After the event that changed the link: ns-3's own flush runs in it.
    Simulator::ScheduleNow(
        +[](NetDeviceContainer devices) { NeighborCacheHelper().PopulateNeighborCache(devices); },
        m_bssDevices);
}

void
EdgeMoeScenario::BeginTask()
{
    m_monitor->BeginWindow();
    m_energy0 = m_net.ueRadio->GetTotalEnergyConsumption();
}

void
EdgeMoeScenario::FillLinkReport(NetmoeReport& r, double /* taskS */)
{
    r.ue_energy_j = m_net.ueRadio->GetTotalEnergyConsumption() - m_energy0;

    const double volts = m_net.ueSource->GetSupplyVoltage();
    const double txW = volts * m_net.ueRadio->GetTxCurrentA();
    const double rxW = volts * m_net.ueRadio->GetRxCurrentA();
    for (uint32_t e = 0; e < m_numExperts; ++e)
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
}

double
EdgeMoeScenario::ObservedSnrDb(uint32_t e) const
{
    return m_monitor->ObservedSnrDb(e);
}

double
EdgeMoeScenario::SecondsSinceHeard(uint32_t e) const
{
    return m_monitor->SecondsSinceHeard(e);
}

bool
EdgeMoeScenario::IsAssociated(uint32_t e) const
{
    return m_monitor->IsAssociated(e);
}

Ptr<Node>
EdgeMoeScenario::DistanceOrigin() const
{
    return m_ue.Get(0);
}

} // namespace netmoe
