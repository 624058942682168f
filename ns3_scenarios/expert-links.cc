/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Per-expert signal observation and IPv4 lookup of the link monitors (see expert-links.h).
 */
#include "expert-links.h"

#include "ns3/simulator.h"

#include <cmath>
#include <limits>

namespace netmoe
{

using namespace ns3;

ExpertSignal::ExpertSignal(uint32_t numExperts, double alpha)
    : m_alpha(alpha),
      m_average(numExperts, std::numeric_limits<double>::quiet_NaN()),
      m_last(numExperts),
      m_sampled(numExperts, false)
{
}

void
ExpertSignal::Add(uint32_t e, double db)
{
    m_average[e] = std::isnan(m_average[e]) ? db : m_alpha * db + (1 - m_alpha) * m_average[e];
    m_last[e] = Simulator::Now();
    m_sampled[e] = true;
}

double
ExpertSignal::AverageDb(uint32_t e) const
{
    return m_average.at(e);
}

double
ExpertSignal::SecondsSinceLast(uint32_t e) const
{
    if (!m_sampled.at(e))
    {
        return std::numeric_limits<double>::quiet_NaN();
    }
    return (Simulator::Now() - m_last[e]).GetSeconds();
}

int
ExpertOfIpHeader(const std::map<Ipv4Address, uint32_t>& byIp, const Ipv4Header& ip)
{
    for (auto a : {ip.GetDestination(), ip.GetSource()})
    {
        auto it = byIp.find(a);
        if (it != byIp.end())
        {
            return static_cast<int>(it->second);
        }
    }
    return -1;
}

} // namespace netmoe
