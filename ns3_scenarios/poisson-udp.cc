/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Poisson UDP senders (see poisson-udp.h).
 */
#include "poisson-udp.h"

#include "ns3/double.h"
#include "ns3/node.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"

namespace netmoe
{

using namespace ns3;

PoissonUdp::PoissonUdp(double meanGapS, uint32_t packetBytes)
    : m_packetBytes(packetBytes)
{
    m_gap = CreateObjectWithAttributes<ExponentialRandomVariable>("Mean", DoubleValue(meanGapS));
}

void
PoissonUdp::Start(Ptr<Socket> socket)
{
    const uint32_t s = m_senders.size();
    m_senders.push_back(socket);
    Simulator::ScheduleWithContext(socket->GetNode()->GetId(),
                                   Seconds(m_gap->GetValue()),
                                   &PoissonUdp::Send,
                                   this,
                                   s);
}

void
PoissonUdp::Send(uint32_t s)
{
    m_senders[s]->Send(Create<Packet>(m_packetBytes));
    Simulator::Schedule(Seconds(m_gap->GetValue()), &PoissonUdp::Send, this, s);
}

} // namespace netmoe
