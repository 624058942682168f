/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Expert heartbeats (see heartbeats.h).
 */
#include "heartbeats.h"

#include "ns3/inet-socket-address.h"
#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/packet.h"
#include "ns3/random-variable-stream.h"
#include "ns3/simulator.h"
#include "ns3/udp-socket-factory.h"

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeHeartbeats");

using namespace ns3;

Heartbeats::Heartbeats(Ptr<Node> ue,
                       Ipv4Address ueIp,
                       const NodeContainer& experts,
                       uint16_t port,
                       uint32_t bytes,
                       Time interval)
    : m_bytes(bytes),
      m_interval(interval)
{
    // The sink keeps the user device from answering with ICMP port-unreachable.
    m_sink = Socket::CreateSocket(ue, UdpSocketFactory::GetTypeId());
    m_sink->Bind(InetSocketAddress(Ipv4Address::GetAny(), port));
    m_sink->SetRecvCallback(MakeCallback(&Heartbeats::Drain, this));
    if (bytes == 0)
    {
        return;
    }
    auto offset = CreateObject<UniformRandomVariable>();
    for (uint32_t e = 0; e < experts.GetN(); ++e)
    {
        auto s = Socket::CreateSocket(experts.Get(e), UdpSocketFactory::GetTypeId());
        s->Bind();
        s->Connect(InetSocketAddress(ueIp, port));
        m_senders.push_back(s);
        Time start = Seconds(offset->GetValue(0, interval.GetSeconds()));
        Simulator::ScheduleWithContext(experts.Get(e)->GetId(), start, &Heartbeats::Send, this, e);
    }
}

void
Heartbeats::Send(uint32_t e)
{
    m_senders[e]->Send(Create<Packet>(m_bytes));
    Simulator::Schedule(m_interval, &Heartbeats::Send, this, e);
}

void
Heartbeats::Drain(Ptr<Socket> s)
{
    while (s->Recv())
    {
    }
}

} // namespace netmoe
