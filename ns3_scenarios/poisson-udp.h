/* SPDX-License-Identifier: GPL-2.0-only
 *
 * PoissonUdp: connected UDP sockets that each send datagrams of one size at Poisson
 * times; the load of the neighbouring Wi-Fi BSS (edge-moe) and of the LTE cell
 * (edge-moe-lte).
 */
#ifndef NETMOE_POISSON_UDP_H
#define NETMOE_POISSON_UDP_H

#include "ns3/random-variable-stream.h"
#include "ns3/socket.h"

#include <cstdint>
#include <vector>

namespace netmoe
{

/** Poisson UDP senders sharing one exponential gap distribution. */
class PoissonUdp
{
  public:
    /**
     * Create the gap distribution (one random stream).
     * \param meanGapS mean time between two datagrams of one sender (s)
     * \param packetBytes UDP payload per datagram
     */
    PoissonUdp(double meanGapS, uint32_t packetBytes);

    /** Start \p socket (bound and connected): its first datagram after one gap. */
    void Start(ns3::Ptr<ns3::Socket> socket);

  private:
    /** Send one datagram on sender \p s and schedule its next. */
    void Send(uint32_t s);

    ns3::Ptr<ns3::ExponentialRandomVariable> m_gap; //!< time between datagrams
    std::vector<ns3::Ptr<ns3::Socket>> m_senders;  //!< in the order started
    uint32_t m_packetBytes;                        //!< UDP payload per datagram
};

} // namespace netmoe

#endif /* NETMOE_POISSON_UDP_H */
