/* SPDX-License-Identifier: GPL-2.0-only
 *
 * What the Wi-Fi and LTE link monitors share: the per-expert signal observation (moving
 * average of the samples, age of the last one) and finding an expert from an IPv4 header.
 */
#ifndef NETMOE_EXPERT_LINKS_H
#define NETMOE_EXPERT_LINKS_H

#include "ns3/ipv4-address.h"
#include "ns3/ipv4-header.h"
#include "ns3/nstime.h"

#include <cstdint>
#include <map>
#include <vector>

namespace netmoe
{

/** Per-expert signal samples (SNR, SINR) as the user device observes them. */
class ExpertSignal
{
  public:
    /**
     * \param numExperts N
     * \param alpha weight of a new sample in the moving average
     */
    ExpertSignal(uint32_t numExperts, double alpha);

    /** Record a sample of \p db (dB) from expert \p e (0-based), now. */
    void Add(uint32_t e, double db);
    /** Moving average of expert \p e's samples (dB), NaN before the first one. */
    double AverageDb(uint32_t e) const;
    /** Seconds since expert \p e's last sample, NaN if none yet. */
    double SecondsSinceLast(uint32_t e) const;

  private:
    double m_alpha;                 //!< weight of a new sample
    std::vector<double> m_average;  //!< NaN until the first sample
    std::vector<ns3::Time> m_last;  //!< valid when m_sampled
    std::vector<bool> m_sampled;    //!< whether an expert has a sample
};

/**
 * The expert (0-based) whose address in \p byIp is the destination, else the source, of
 * \p ip; -1 if neither is an expert's.
 */
int ExpertOfIpHeader(const std::map<ns3::Ipv4Address, uint32_t>& byIp, const ns3::Ipv4Header& ip);

} // namespace netmoe

#endif /* NETMOE_EXPERT_LINKS_H */
