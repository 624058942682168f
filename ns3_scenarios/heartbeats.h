/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Heartbeats: every expert sends a small UDP datagram to the user device at a fixed
 * interval (a device-discovery beacon), so the user device hears every expert's SNR
 * even when it is not in use. Start times are spread uniformly over one interval.
 */
#ifndef NETMOE_HEARTBEATS_H
#define NETMOE_HEARTBEATS_H

#include "ns3/ipv4-address.h"
#include "ns3/node-container.h"
#include "ns3/nstime.h"
#include "ns3/socket.h"

#include <vector>

namespace netmoe
{

/** Periodic UDP datagrams from every expert to the user device. */
class Heartbeats
{
  public:
    /**
     * Install the senders (experts) and the sink (user device) and start them.
     * \param bytes UDP payload per heartbeat (0: no heartbeats)
     * \param interval time between two heartbeats of one expert
     */
    Heartbeats(ns3::Ptr<ns3::Node> ue,
               ns3::Ipv4Address ueIp,
               const ns3::NodeContainer& experts,
               uint16_t port,
               uint32_t bytes,
               ns3::Time interval);

  private:
    void Send(uint32_t e);
    void Drain(ns3::Ptr<ns3::Socket> s);

    std::vector<ns3::Ptr<ns3::Socket>> m_senders;
    ns3::Ptr<ns3::Socket> m_sink;
    uint32_t m_bytes;
    ns3::Time m_interval;
};

} // namespace netmoe

#endif /* NETMOE_HEARTBEATS_H */
