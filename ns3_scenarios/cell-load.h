/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Cell load for edge-moe-lte: other UEs of the cell exchanging Poisson UDP traffic with
 * a remote host behind the PGW, half of the offered load downlink (remote host -> UE),
 * half uplink (UE -> remote host), so that both directions the task traffic uses are
 * shared with them by the eNB's MAC scheduler.
 */
#ifndef NETMOE_CELL_LOAD_H
#define NETMOE_CELL_LOAD_H

#include "poisson-udp.h"

#include "ns3/ipv4-address.h"
#include "ns3/node-container.h"
#include "ns3/socket.h"

#include <memory>
#include <vector>

namespace netmoe
{

/** Poisson UDP flows between the loading UEs and the remote host. */
class CellLoad
{
  public:
    /**
     * \param ues the loading UEs, with \p ueIps their addresses
     * \param remote the remote host, with \p remoteIp its address
     * \param totalMbps offered load of all flows (half downlink, half uplink)
     * \param packetBytes UDP payload per datagram
     */
    CellLoad(const ns3::NodeContainer& ues,
             const std::vector<ns3::Ipv4Address>& ueIps,
             ns3::Ptr<ns3::Node> remote,
             ns3::Ipv4Address remoteIp,
             double totalMbps,
             uint32_t packetBytes);

    /** Datagram bytes received so far, downlink (by the UEs) and uplink (by the host). */
    uint64_t DownlinkBytes() const;
    uint64_t UplinkBytes() const;

  private:
    void Receive(ns3::Ptr<ns3::Socket> socket);

    std::vector<ns3::Ptr<ns3::Socket>> m_sinks;   //!< UEs' sinks, then the host's
    ns3::Ptr<ns3::Socket> m_hostSink;
    std::unique_ptr<PoissonUdp> m_traffic;        //!< the flows' datagrams
    uint64_t m_dlBytes{0};
    uint64_t m_ulBytes{0};
};

} // namespace netmoe

#endif /* NETMOE_CELL_LOAD_H */
