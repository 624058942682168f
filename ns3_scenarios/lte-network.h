/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The edge-moe-lte radio network: one LTE cell (an eNB with the EPC: LteHelper +
 * PointToPointEpcHelper) serving the user device, the edge experts and a number of
 * other UEs that load the cell, plus a remote host behind the PGW for the load traffic.
 * UE-to-UE traffic (user <-> expert) goes up to the eNB, through the S1-U tunnel to the
 * SGW/PGW and back down: LTE without sidelink has no shorter path. Wired edge servers
 * (multi-access edge computing) hang off the PGW (wired-servers.h, the scenario's).
 */
#ifndef NETMOE_LTE_NETWORK_H
#define NETMOE_LTE_NETWORK_H

#include "netmoe/scenario-defaults.h"

#include "ns3/ipv4-address.h"
#include "ns3/net-device-container.h"
#include "ns3/node-container.h"
#include "ns3/object.h"
#include "ns3/vector.h"

#include <string>
#include <vector>

namespace netmoe
{

/** Cell settings, from the command line. */
struct LteConfig
{
    ns3::Vector enbPosition{0, 0, 30};                  //!< the eNB antenna (m), --enb
    uint32_t bandwidthRbs{defaults::bandwidthRbs};       //!< UL and DL RBs: 6,15,25,50,75,100
    uint32_t dlEarfcn{defaults::earfcn};                 //!< band 1: DL 2120 MHz (UL = DL + 18000)
    double enbTxPowerDbm{defaults::enbTxPowerDbm};       //!< eNB total transmit power
    double ueTxPowerDbm{defaults::ueTxPowerDbm};         //!< UE maximum power (class 3)
    std::string scheduler{defaults::scheduler};          //!< pf, rr, ... or an ns3::FfMacScheduler
    std::string propagation{defaults::ltePropagation};   //!< logdistance or friis
    double exponent{defaults::lteExponent};              //!< log-distance exponent
    double referenceLoss{defaults::lteReferenceLoss};    //!< loss at 1 m (dB): 128.1 + 37.6 log10(d/km)
    std::string rlcMode{defaults::rlcMode};              //!< am or um
    uint32_t rlcBufferBytes{defaults::rlcBufferBytes};   //!< RLC transmission buffer per bearer
    uint32_t cellLoadUes{defaults::cellLoadUes};         //!< other UEs in the cell
    double cellLoadMbps{defaults::cellLoadMbps};         //!< their total offered load (half DL, half UL)
    double cellLoadRadius{defaults::cellLoadRadius};     //!< they stand on a circle around the eNB (m)
    uint32_t cellLoadPacketBytes{defaults::cellLoadPacketBytes}; //!< UDP payload per datagram
};

/**
 * Check the rules between the settings (known scheduler, bandwidth, models; load UEs and
 * load both > 0 or both 0) and expand scheduler short names; ConfigError.
 */
void ValidateLteConfig(LteConfig& config);

/** What BuildLteNetwork made. */
struct LteNetwork
{
    ns3::Ptr<ns3::Object> lteHelper;           //!< the LteHelper (kept alive)
    ns3::Ptr<ns3::Object> epcHelper;           //!< the PointToPointEpcHelper
    ns3::NetDeviceContainer enbDevice;         //!< the eNB
    ns3::NetDeviceContainer userDevice;        //!< the user device's UE
    ns3::NetDeviceContainer expertDevices;     //!< expert i at index i-1
    ns3::NetDeviceContainer loadDevices;       //!< the loading UEs
    ns3::NetDeviceContainer otherUsers;        //!< users 1..M-1, user u at index u-1
    ns3::Ipv4Address userIp;                   //!< the user device (7.0.0.x)
    std::vector<ns3::Ipv4Address> expertIps;   //!< expert i at index i-1
    std::vector<ns3::Ipv4Address> loadIps;     //!< the loading UEs
    std::vector<ns3::Ipv4Address> otherUserIps; //!< users 1..M-1
    ns3::Ptr<ns3::Node> pgw;                   //!< the EPC's PGW (edge servers' gateway)
    ns3::Ptr<ns3::Node> remoteHost;            //!< behind the PGW (load traffic peer)
    ns3::Ipv4Address remoteHostIp;             //!< its address
};

/**
 * Build the cell: eNB on \p enb, UEs on \p user, \p experts, \p load and \p otherUsers
 * (users 1..M-1, last: one user builds what it always did; all with a mobility model
 * already), the EPC and a remote host; IPv4 and default routes; every UE attached to the
 * eNB.
 */
LteNetwork BuildLteNetwork(const LteConfig& config,
                           ns3::Ptr<ns3::Node> enb,
                           ns3::Ptr<ns3::Node> user,
                           const ns3::NodeContainer& experts,
                           const ns3::NodeContainer& load,
                           const ns3::NodeContainer& otherUsers = ns3::NodeContainer());

} // namespace netmoe

#endif /* NETMOE_LTE_NETWORK_H */
