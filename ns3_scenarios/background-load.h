/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Interference and load: a neighbouring Wi-Fi network on the same channel (its own
 * access point and M stations) whose stations send Poisson UDP traffic to their access
 * point at a configurable total load. It contends for the medium with the edge-moe BSS
 * (CSMA/CA deferral, collisions, hidden terminals), as a neighbour's Wi-Fi does.
 */
#ifndef NETMOE_BACKGROUND_LOAD_H
#define NETMOE_BACKGROUND_LOAD_H

#include "poisson-udp.h"
#include "wifi-network.h"

#include "netmoe/scenario-defaults.h"

#include "ns3/node-container.h"
#include "ns3/socket.h"
#include "ns3/vector.h"

#include <memory>
#include <string>
#include <vector>

namespace netmoe
{

/** The neighbouring network, from the command line (--bg*). */
struct BackgroundSpec
{
    uint32_t stations{defaults::bgStations};       //!< M stations (0: no neighbouring network)
    double loadMbps{defaults::bgLoadMbps};         //!< total offered UDP load of the M stations
    ns3::Vector apPosition{0, 0, 1};               //!< the neighbouring access point (--bgAp)
    double radius{defaults::bgRadius};             //!< stations evenly on a circle around it (m)
    uint32_t packetBytes{defaults::bgPacketBytes}; //!< UDP payload per datagram
};

/** Check the rules between the flags (stations and load both > 0, or both 0); ConfigError. */
void ValidateBackgroundSpec(const BackgroundSpec& spec);

/** Builds the neighbouring BSS on the scenario's channel and runs its traffic. */
class BackgroundLoad
{
  public:
    BackgroundLoad(const BackgroundSpec& spec,
                   const WifiConfig& wifi,
                   ns3::Ptr<ns3::YansWifiChannel> channel);

    /** Datagram bytes the neighbouring access point has received so far. */
    uint64_t BytesReceived() const;

    /** The nodes it created (access point first). */
    const ns3::NodeContainer& Nodes() const;

  private:
    void Receive(ns3::Ptr<ns3::Socket> socket);

    BackgroundSpec m_spec;
    ns3::NodeContainer m_nodes;
    ns3::Ptr<ns3::Socket> m_sink;
    std::unique_ptr<PoissonUdp> m_traffic; //!< the stations' datagrams
    uint64_t m_received{0};
};

} // namespace netmoe

#endif /* NETMOE_BACKGROUND_LOAD_H */
