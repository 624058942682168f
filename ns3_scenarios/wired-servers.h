/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Wired edge servers: M server nodes attached to a gateway node by wire, either one
 * shared Ethernet segment (CsmaHelper: the gateway and every server on one LAN, like a
 * home router's switch or a campus server rack) or one point-to-point link each
 * (PointToPointHelper), with a configured data rate and one-way delay. edge-moe hangs
 * them off its access point (--topology=infrastructure), edge-moe-lte off the EPC's PGW
 * (multi-access edge computing). A server is an expert like any other: it serves
 * subtasks; its path to the user device is the user's radio hop plus the wire.
 */
#ifndef NETMOE_WIRED_SERVERS_H
#define NETMOE_WIRED_SERVERS_H

#include "flag-set.h"

#include "netmoe/scenario-defaults.h"

#include "ns3/ipv4-address.h"
#include "ns3/net-device-container.h"
#include "ns3/node-container.h"
#include "ns3/vector.h"

#include <string>
#include <vector>

namespace netmoe
{

/** The wired servers' settings, from the command line. */
struct WiredConfig
{
    uint32_t servers{defaults::wiredServers}; //!< M (0: none)
    std::string link{defaults::wiredLink};    //!< csma (one LAN) or p2p (a link per server)
    std::string rate{defaults::wiredRate};    //!< ns-3 DataRate text, e.g. 1Gbps, 100Mbps
    double delayS{defaults::wiredDelay};      //!< one-way propagation delay of the wire (s)
};

/** --wiredServers, --wiredLink, --wiredRate, --wiredDelay (both programs). */
void AddWiredFlags(FlagSet& flags, WiredConfig& config, const std::string& gateway);

/** Check link and rate (ns-3's own DataRate parser); ConfigError for the flag at fault. */
void ValidateWiredConfig(const WiredConfig& config);

/** What BuildWiredServers made. */
struct WiredNetwork
{
    ns3::NetDeviceContainer gatewayDevices;  //!< the gateway's wired device(s)
    ns3::NetDeviceContainer serverDevices;   //!< server j at index j
    std::vector<ns3::Ipv4Address> serverIps; //!< server j at index j
};

/**
 * Wire \p servers to \p gateway (both with an Internet stack already) and address them
 * in \p network/16 (one /24 per point-to-point link); each server's default route goes
 * through the gateway. The gateway forwards (ns-3's default IpForward).
 */
WiredNetwork BuildWiredServers(const WiredConfig& config,
                               ns3::Ptr<ns3::Node> gateway,
                               const ns3::NodeContainer& servers,
                               const char* network);

/** Give each of \p nodes a constant-position mobility model at \p position. */
void PlaceNodes(const ns3::NodeContainer& nodes, const ns3::Vector& position);

} // namespace netmoe

#endif /* NETMOE_WIRED_SERVERS_H */
