/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The edge-moe scenario, task by task (see edge-moe-scenario.h).
 */
#include "edge-moe-scenario.h"

#include "ns3/internet-stack-helper.h"
#include "ns3/ipv4-address-helper.h"
#include "ns3/ipv4-interface-container.h"
#include "ns3/ipv4-static-routing-helper.h"
#include "ns3/ipv4-static-routing.h"
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
constexpr const char* kWiredNetwork = "10.3.0.0"; //!< /16: the wired servers' links
} // namespace

EdgeMoeScenario::EdgeMoeScenario(const ScenarioConfig& config)
    : TaskScenario("edge-moe",
                   config.nodes,
                   config.numUsers,
                   config.tcpSegmentSize,
                   config.synTimeout,
                   config.serving,
                   config.observe),
      m_config(config)
{
    CreateNodes(config.nodes, config.area, config.ns2Trace);
    m_numWireless = m_numExperts;
    NodeContainer all(m_ue.Get(0), m_experts);
    NodeContainer others; // users 1..M-1
    for (uint32_t u = 1; u < m_numUsers; ++u)
    {
        others.Add(m_ue.Get(u));
    }
    if (config.infrastructure)
    {
        // The access point and its wired servers stand still at the AP's position (a
        // server's distance_m is then the user's distance to the AP, its radio hop).
        m_ap.Create(1);
        m_servers.Create(config.wired.servers);
        PlaceNodes(m_ap, config.apPosition);
        PlaceNodes(m_servers, config.apPosition);
        all.Add(m_ap);
        all.Add(m_servers);
    }
    all.Add(others);
    m_net = BuildWifiNetwork(m_config.wifi, m_ue.Get(0), m_experts,
                             config.infrastructure ? m_ap.Get(0) : nullptr, others);
    if (config.lowAckThreshold > 0)
    {
        if (config.infrastructure)
        {
            // stations: the experts, then the user device (Finish prints the experts')
            m_rangeEdge = std::make_unique<RangeEdge>(
                m_net.apDevice.Get(0), NetDeviceContainer(m_net.expertDevices, m_net.ueDevice),
                config.lowAckThreshold);
        }
        else
        {
            m_rangeEdge = std::make_unique<RangeEdge>(m_net.ueDevice.Get(0),
                                                      m_net.expertDevices,
                                                      config.lowAckThreshold);
        }
    }

    InternetStackHelper internet;
    internet.Install(all);
    Ipv4AddressHelper ip;
    ip.SetBase("10.1.0.0", "255.255.0.0");
    Ipv4InterfaceContainer ueIf = ip.Assign(m_net.ueDevice);
    Ipv4InterfaceContainer expertIf = ip.Assign(m_net.expertDevices);
    std::vector<Ipv4Address> expertIps;
    for (uint32_t e = 0; e < m_numExperts; ++e)
    {
        expertIps.push_back(expertIf.GetAddress(e));
    }
    m_bssDevices = NetDeviceContainer(m_net.ueDevice, m_net.expertDevices);
    Ipv4InterfaceContainer apIf;
    if (config.infrastructure)
    {
        apIf = ip.Assign(m_net.apDevice);
        m_bssDevices.Add(m_net.apDevice);
    }
    // users 1..M-1 last: with one user every address is what it was
    Ipv4InterfaceContainer othersIf = ip.Assign(m_net.otherUsers);
    m_bssDevices.Add(m_net.otherUsers);
    if (config.infrastructure)
    {
        // The wired servers: experts N+1..N+M; the radio stations reach them through the
        // access point (static routes, as its DHCP would hand out the gateway).
        WiredNetwork wired = BuildWiredServers(config.wired, m_ap.Get(0), m_servers, kWiredNetwork);
        Ipv4StaticRoutingHelper routing;
        NodeContainer stations(NodeContainer(m_ue.Get(0), m_experts), others);
        for (uint32_t i = 0; i < stations.GetN(); ++i)
        {
            Ptr<Node> station = stations.Get(i);
            routing.GetStaticRouting(station->GetObject<Ipv4>())
                ->AddNetworkRouteTo(Ipv4Address(kWiredNetwork), Ipv4Mask("255.255.0.0"),
                                    apIf.GetAddress(0), 1);
        }
        m_experts.Add(m_servers);
        m_numExperts += m_servers.GetN();
        expertIps.insert(expertIps.end(), wired.serverIps.begin(), wired.serverIps.end());
    }
    // Static ARP, as a hotspot knows its clients from DHCP: no ARP exchange in the delays.
    NeighborCacheHelper neighbors;
    neighbors.PopulateNeighborCache();
    // ns-3 flushes a device's ARP cache when its link goes down (an expert losing its
    // association) and would then mark the peer unreachable for 100 s after a failed
    // ARP exchange; the leases outlive a re-association, so refill after any change.
    for (uint32_t i = 0; config.keepStaticArp && i < m_bssDevices.GetN(); ++i)
    {
        m_bssDevices.Get(i)->AddLinkChangeCallback(
            MakeCallback(&EdgeMoeScenario::LinkChanged, this));
    }

    m_infra.resize(m_numUsers);
    if (config.infrastructure)
    {
        m_infra[0] = std::make_unique<InfraMonitor>(m_net, expertIps, config.snrAlpha);
    }
    else
    {
        m_monitor = std::make_unique<LinkMonitor>(m_net, expertIps, config.snrAlpha);
    }
    for (uint32_t u = 1; u < m_numUsers; ++u)
    {
        // user u as the monitors see it: a station of the BSS's access point (direct:
        // user 0's hotspot), reaching every expert through it
        WifiNetwork view = m_net;
        view.ueDevice = NetDeviceContainer(m_net.otherUsers.Get(u - 1));
        if (!config.infrastructure)
        {
            view.apDevice = m_net.ueDevice;
        }
        m_infra[u] = std::make_unique<InfraMonitor>(view, expertIps, config.snrAlpha);
        m_infra[u]->SetUserIp(othersIf.GetAddress(u - 1));
    }
    if (m_numUsers > 1)
    {
        // user 0 counts only its own traffic too (its hotspot relays the others')
        m_infra[0] ? m_infra[0]->SetUserIp(ueIf.GetAddress(0))
                   : m_monitor->SetUserIp(ueIf.GetAddress(0));
    }
    m_energy0.assign(m_numUsers, 0.0);
    CreateRunner(expertIps);
    if (config.observe.Probing())
    {
        const auto [ueIpv4, ueIfIndex] = ueIf.Get(0);
        // the BSS's broadcast address (relayed by the access point in infrastructure
        // mode); the wired servers are not on it
        CreateProbes(ueIpv4->GetAddress(ueIfIndex, 0).GetBroadcast(), expertIps, m_numWireless);
        if (m_rangeEdge && !config.infrastructure)
        {
            // The user device is the access point: it knows when it drops an expert.
            m_rangeEdge->SetDisassociatedCallback(
                MakeCallback(&EdgeMoeScenario::ExpertDropped, this));
        }
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
    devices.Add(m_net.apDevice);
    devices.Add(m_net.otherUsers);
    if (config.background.stations > 0)
    {
        // Two BSSs on one channel: each has its colour (see SetBssColor).
        SetBssColor(devices, kOwnBssColor);
        m_background = std::make_unique<BackgroundLoad>(config.background, m_config.wifi,
                                                        m_net.channel);
    }
    if (config.building.enabled || m_config.wifi.propagation == "buildings")
    {
        InstallBuilding(config.building); // after every node exists and has its mobility
    }
    if (!config.pcapPrefix.empty() || !config.flowmonXml.empty() || !config.netanim.empty())
    {
        m_outputs = std::make_unique<ExtraOutputs>(config.pcapPrefix, config.flowmonXml, devices);
    }
    if (!config.netanim.empty())
    {
        m_outputs->EnableNetAnim(config.netanim, config.netanimPackets, m_ue, m_experts);
    }
}

std::string
EdgeMoeScenario::ProgressNote() const
{
    return ", " + std::to_string(ApStationEntries(m_bssDevices)) + " AP station entries";
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
        for (uint32_t e = 0; e < m_numWireless; ++e)
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
    if (m_monitor)
    {
        m_monitor->BeginWindow();
    }
    for (auto& infra : m_infra)
    {
        if (infra)
        {
            infra->BeginWindow();
        }
    }
    for (uint32_t u = 0; u < m_numUsers; ++u)
    {
        m_energy0[u] = Radio(u).TotalJ();
    }
}

const UeRadioEnergy&
EdgeMoeScenario::Radio(uint32_t u) const
{
    return u == 0 ? *m_net.ueRadio : *m_net.otherRadios.at(u - 1);
}

double
EdgeMoeScenario::UserEnergyJ(uint32_t u) const
{
    return Radio(u).TotalJ();
}

void
EdgeMoeScenario::FillLinkReport(uint32_t u, NetmoeReport& r, double /* taskS */)
{
    const UeRadioEnergy& radio = Radio(u);
    r.ue_energy_j = radio.TotalJ() - m_energy0[u];

    const double txW = radio.TxW();
    const double rxW = radio.RxW();
    const InfraMonitor* infra = m_infra[u].get();
    for (uint32_t e = 0; e < m_numExperts; ++e)
    {
        const LinkWindow& w = infra ? infra->Window(e) : m_monitor->Window(e);
        // infrastructure: the path's weakest radio hop
        r.snr_db[e] = infra ? infra->WindowSnrDb(e) : m_monitor->WindowSnrDb(e);
        r.energy_j[e] = w.txAirtime.GetSeconds() * txW + w.rxAirtime.GetSeconds() * rxW;
        r.packets_sent[e] = w.dataSent;
        r.packets_lost[e] = w.lost;
        r.retransmissions[e] = w.retries;
    }
}

double
EdgeMoeScenario::ObservedSnrDb(uint32_t u, uint32_t e) const
{
    return m_infra[u] ? m_infra[u]->ObservedSnrDb(e) : m_monitor->ObservedSnrDb(e);
}

double
EdgeMoeScenario::SecondsSinceHeard(uint32_t u, uint32_t e) const
{
    return m_infra[u] ? m_infra[u]->SecondsSinceHeard(e) : m_monitor->SecondsSinceHeard(e);
}

bool
EdgeMoeScenario::IsAssociated(uint32_t u, uint32_t e) const
{
    return m_infra[u] ? m_infra[u]->IsAssociated(e) : m_monitor->IsAssociated(e);
}

Ptr<Node>
EdgeMoeScenario::DistanceOrigin(uint32_t u) const
{
    return m_ue.Get(u);
}

} // namespace netmoe
