/* SPDX-License-Identifier: GPL-2.0-only
 *
 * On-demand probes: one broadcast query, jittered unicast answers (see probes.h).
 */
#include "probes.h"

#include "netmoe/messages.h"

#include "ns3/inet-socket-address.h"
#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/udp-socket-factory.h"

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeProbes");

using namespace ns3;

namespace
{
/**
 * UDP payload of a query: the bitmap of the experts asked to answer (bit e-1 for expert e,
 * little-endian, NETMOE_MAX_EXPERTS bits); an answer has the same size.
 */
constexpr uint32_t kProbeBytes = 16;
static_assert(NETMOE_MAX_EXPERTS <= 8 * kProbeBytes, "the query's bitmap holds every expert");
} // namespace

Probes::Probes(Ptr<Node> ue,
               Ipv4Address broadcast,
               const NodeContainer& experts,
               const std::vector<Ipv4Address>& expertIps,
               uint16_t port,
               Time jitter,
               uint32_t frames)
    : m_expertIps(expertIps),
      m_broadcast(broadcast),
      m_port(port),
      m_jitterS(jitter.GetSeconds()),
      m_frames(frames),
      m_awaited(experts.GetN(), false)
{
    m_ueSocket = Socket::CreateSocket(ue, UdpSocketFactory::GetTypeId());
    m_ueSocket->Bind();
    m_ueSocket->SetAllowBroadcast(true);
    m_ueSocket->SetRecvCallback(MakeCallback(&Probes::Receive, this));
    for (uint32_t e = 0; e < experts.GetN(); ++e)
    {
        auto s = Socket::CreateSocket(experts.Get(e), UdpSocketFactory::GetTypeId());
        s->Bind(InetSocketAddress(Ipv4Address::GetAny(), port));
        s->SetRecvCallback(MakeCallback(&Probes::Answer, this));
        m_responders.push_back(s);
    }
    if (m_jitterS > 0)
    {
        m_jitter = CreateObject<UniformRandomVariable>();
    }
}

void
Probes::Query(const std::vector<bool>& asked, const std::vector<bool>& awaited)
{
    m_outstanding = 0;
    for (uint32_t e = 0; e < m_awaited.size(); ++e)
    {
        m_awaited[e] = awaited.at(e);
        m_outstanding += m_awaited[e] ? 1 : 0;
    }
    Send(asked);
}

void
Probes::Ask(const std::vector<bool>& asked)
{
    Send(asked);
}

void
Probes::Requery()
{
    Send(m_awaited);
}

void
Probes::Send(const std::vector<bool>& asked)
{
    NS_LOG_DEBUG(Simulator::Now().As(Time::S) << " probe query");
    ++m_sent;
    uint8_t payload[kProbeBytes] = {};
    for (uint32_t e = 0; e < asked.size(); ++e)
    {
        if (asked[e])
        {
            payload[e / 8] |= static_cast<uint8_t>(1U << (e % 8));
        }
    }
    m_ueSocket->SendTo(Create<Packet>(payload, kProbeBytes), 0,
                       InetSocketAddress(m_broadcast, m_port));
}

void
Probes::Answer(Ptr<Socket> s)
{
    uint32_t e = 0;
    while (e < m_responders.size() && m_responders[e] != s)
    {
        ++e;
    }
    Address from;
    while (Ptr<Packet> p = s->RecvFrom(from))
    {
        uint8_t payload[kProbeBytes] = {};
        p->CopyData(payload, kProbeBytes);
        if (!(payload[e / 8] & (1U << (e % 8))))
        {
            continue; // not asked: the user device heard this expert lately
        }
        const double delay = m_jitter ? m_jitter->GetValue(0, m_jitterS) : 0.0;
        NS_LOG_DEBUG(Simulator::Now().As(Time::S) << " expert " << e + 1 << " answers in "
                                                  << delay << " s");
        for (uint32_t f = 0; f < m_frames; ++f)
        {
            Simulator::Schedule(Seconds(delay + f * kAnswerSpacingS), [s, from]() {
                s->SendTo(Create<Packet>(kProbeBytes), 0, from);
            });
        }
    }
}

void
Probes::Receive(Ptr<Socket> s)
{
    Address from;
    while (s->RecvFrom(from))
    {
        ++m_answered;
        const Ipv4Address ip = InetSocketAddress::ConvertFrom(from).GetIpv4();
        NS_LOG_DEBUG(Simulator::Now().As(Time::S) << " answer from " << ip);
        for (uint32_t e = 0; e < m_expertIps.size(); ++e)
        {
            if (m_expertIps[e] != ip || !m_awaited[e])
            {
                continue;
            }
            m_awaited[e] = false;
            if (--m_outstanding == 0 && !m_allAnswered.IsNull())
            {
                m_allAnswered();
            }
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
    m_awaited.assign(m_awaited.size(), false);
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
