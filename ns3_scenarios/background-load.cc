/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The neighbouring Wi-Fi network that loads the channel (see background-load.h).
 */
#include "background-load.h"

#include "flag-parse.h"

#include "ns3/abort.h"
#include "ns3/constant-position-mobility-model.h"
#include "ns3/inet-socket-address.h"
#include "ns3/internet-stack-helper.h"
#include "ns3/ipv4-address-helper.h"
#include "ns3/ipv4-interface-container.h"
#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/packet.h"
#include "ns3/udp-socket-factory.h"

#include <cmath>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeBackgroundLoad");

using namespace ns3;

namespace
{
constexpr uint16_t kSinkPort = 7000;
} // namespace

void
ValidateBackgroundSpec(const BackgroundSpec& s)
{
    if (s.stations > 0 && s.loadMbps == 0)
    {
        throw ConfigError("bgLoadMbps", "must be > 0 with --bgStations=" +
                                            std::to_string(s.stations) + ", got 0");
    }
    if (s.stations == 0 && s.loadMbps > 0)
    {
        throw ConfigError("bgStations", "must be > 0 with --bgLoadMbps=" +
                                            FormatNumber(s.loadMbps) + ", got 0");
    }
}

BackgroundLoad::BackgroundLoad(const BackgroundSpec& spec,
                               const WifiConfig& wifi,
                               Ptr<YansWifiChannel> channel)
    : m_spec(spec)
{
    NS_ABORT_MSG_IF(spec.stations == 0, "BackgroundLoad needs stations");
    m_nodes.Create(spec.stations + 1);
    for (uint32_t i = 0; i < m_nodes.GetN(); ++i)
    {
        auto m = CreateObject<ConstantPositionMobilityModel>();
        Vector p = spec.apPosition;
        if (i > 0)
        {
            const double a = 2 * M_PI * (i - 1) / spec.stations;
            p.x += spec.radius * std::cos(a);
            p.y += spec.radius * std::sin(a);
        }
        m_nodes.Get(i)->AggregateObject(m);
        m->SetPosition(p);
    }
    NodeContainer stations;
    for (uint32_t i = 1; i < m_nodes.GetN(); ++i)
    {
        stations.Add(m_nodes.Get(i));
    }
    NetDeviceContainer devices = BuildCoChannelBss(wifi, channel, m_nodes.Get(0), stations);

    InternetStackHelper internet;
    internet.Install(m_nodes);
    Ipv4AddressHelper ip;
    ip.SetBase("10.2.0.0", "255.255.0.0");
    Ipv4InterfaceContainer ifs = ip.Assign(devices);

    m_sink = Socket::CreateSocket(m_nodes.Get(0), UdpSocketFactory::GetTypeId());
    m_sink->Bind(InetSocketAddress(Ipv4Address::GetAny(), kSinkPort));
    m_sink->SetRecvCallback(MakeCallback(&BackgroundLoad::Receive, this));

    // Poisson arrivals: mean gap = bits per datagram / per-station rate.
    const double perStationBps = spec.loadMbps * 1e6 / spec.stations;
    m_traffic = std::make_unique<PoissonUdp>(spec.packetBytes * 8.0 / perStationBps,
                                             spec.packetBytes);
    for (uint32_t s = 0; s < spec.stations; ++s)
    {
        auto socket = Socket::CreateSocket(stations.Get(s), UdpSocketFactory::GetTypeId());
        socket->Bind();
        socket->Connect(InetSocketAddress(ifs.GetAddress(0), kSinkPort));
        m_traffic->Start(socket);
    }
}

void
BackgroundLoad::Receive(Ptr<Socket> socket)
{
    while (Ptr<Packet> p = socket->Recv())
    {
        m_received += p->GetSize();
    }
}

uint64_t
BackgroundLoad::BytesReceived() const
{
    return m_received;
}

const NodeContainer&
BackgroundLoad::Nodes() const
{
    return m_nodes;
}

} // namespace netmoe
