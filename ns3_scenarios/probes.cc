/* SPDX-License-Identifier: GPL-2.0-only
 *
 * On-demand probes (see probes.h).
 */
#include "probes.h"

#include "ns3/inet-socket-address.h"
#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/packet.h"
#include "ns3/udp-socket-factory.h"

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeProbes");

using namespace ns3;

namespace
{
/** UDP payload of a request and of its answer: a sequence number and a timestamp. */
constexpr uint32_t kProbeBytes = 16;
} // namespace

Probes::Probes(Ptr<Node> ue,
               const NodeContainer& experts,
               const std::vector<Ipv4Address>& expertIps,
               uint16_t port)
    : m_expertIps(expertIps),
      m_port(port)
{
    m_ueSocket = Socket::CreateSocket(ue, UdpSocketFactory::GetTypeId());
    m_ueSocket->Bind();
    m_ueSocket->SetRecvCallback(MakeCallback(&Probes::Receive, this));
    for (uint32_t e = 0; e < experts.GetN(); ++e)
    {
        auto s = Socket::CreateSocket(experts.Get(e), UdpSocketFactory::GetTypeId());
        s->Bind(InetSocketAddress(Ipv4Address::GetAny(), port));
        s->SetRecvCallback(MakeCallback(&Probes::Answer, this));
        m_responders.push_back(s);
    }
}

void
Probes::Send(uint32_t e)
{
    NS_LOG_DEBUG("probe to expert " << e + 1);
    ++m_sent;
    ++m_outstanding;
    m_ueSocket->SendTo(Create<Packet>(kProbeBytes), 0,
                       InetSocketAddress(m_expertIps.at(e), m_port));
}

void
Probes::Answer(Ptr<Socket> s)
{
    Address from;
    while (Ptr<Packet> p = s->RecvFrom(from))
    {
        s->SendTo(Create<Packet>(p->GetSize()), 0, from);
    }
}

void
Probes::Receive(Ptr<Socket> s)
{
    while (s->Recv())
    {
        ++m_answered;
        if (m_outstanding > 0 && --m_outstanding == 0 && !m_allAnswered.IsNull())
        {
            m_allAnswered();
        }
    }
}

uint32_t
Probes::Outstanding() const
{
    return m_outstanding;
}

void
Probes::Forget()
{
    m_outstanding = 0;
}

void
Probes::SetAllAnsweredCallback(Callback<void> cb)
{
    m_allAnswered = cb;
}

uint64_t
Probes::Sent() const
{
    return m_sent;
}

uint64_t
Probes::Answered() const
{
    return m_answered;
}

} // namespace netmoe
