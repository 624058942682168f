/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Poisson UDP load of an LTE cell (see cell-load.h).
 */
#include "cell-load.h"

#include "ns3/inet-socket-address.h"
#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/packet.h"
#include "ns3/udp-socket-factory.h"

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeCellLoad");

using namespace ns3;

namespace
{
constexpr uint16_t kLoadPort = 7001;
} // namespace

CellLoad::CellLoad(const NodeContainer& ues,
                   const std::vector<Ipv4Address>& ueIps,
                   Ptr<Node> remote,
                   Ipv4Address remoteIp,
                   double totalMbps,
                   uint32_t packetBytes)
{
    const uint32_t m = ues.GetN();
    if (m == 0 || totalMbps <= 0)
    {
        return;
    }
    // Each of the 2m flows offers totalMbps / (2m): mean gap between its datagrams.
    const double perFlowBps = totalMbps * 1e6 / (2.0 * m);
    m_traffic = std::make_unique<PoissonUdp>(packetBytes * 8.0 / perFlowBps, packetBytes);

    std::vector<Ptr<Socket>> senders; // DL flows first, then UL
    m_hostSink = Socket::CreateSocket(remote, UdpSocketFactory::GetTypeId());
    m_hostSink->Bind(InetSocketAddress(Ipv4Address::GetAny(), kLoadPort));
    m_hostSink->SetRecvCallback(MakeCallback(&CellLoad::Receive, this));
    for (uint32_t i = 0; i < m; ++i)
    {
        auto sink = Socket::CreateSocket(ues.Get(i), UdpSocketFactory::GetTypeId());
        sink->Bind(InetSocketAddress(Ipv4Address::GetAny(), kLoadPort));
        sink->SetRecvCallback(MakeCallback(&CellLoad::Receive, this));
        m_sinks.push_back(sink);
        auto dl = Socket::CreateSocket(remote, UdpSocketFactory::GetTypeId());
        dl->Bind();
        dl->Connect(InetSocketAddress(ueIps.at(i), kLoadPort));
        senders.push_back(dl);
    }
    for (uint32_t i = 0; i < m; ++i)
    {
        auto ul = Socket::CreateSocket(ues.Get(i), UdpSocketFactory::GetTypeId());
        ul->Bind();
        ul->Connect(InetSocketAddress(remoteIp, kLoadPort));
        senders.push_back(ul);
    }
    for (const auto& socket : senders)
    {
        m_traffic->Start(socket);
    }
}

void
CellLoad::Receive(Ptr<Socket> socket)
{
    Ptr<Packet> p;
    while ((p = socket->Recv()))
    {
        (socket == m_hostSink ? m_ulBytes : m_dlBytes) += p->GetSize();
    }
}

uint64_t
CellLoad::DownlinkBytes() const
{
    return m_dlBytes;
}

uint64_t
CellLoad::UplinkBytes() const
{
    return m_ulBytes;
}

} // namespace netmoe
