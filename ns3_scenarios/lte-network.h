/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The edge-moe-lte radio network: one LTE cell (an eNB with the EPC: LteHelper +
 * PointToPointEpcHelper) serving the user device, the edge experts and a number of
 * other UEs that load the cell, plus a remote host behind the PGW for the load traffic.
 * UE-to-UE traffic (user <-> expert) goes up to the eNB, through the S1-U tunnel to the
 * SGW/PGW and back down: LTE without sidelink has no shorter path.
 */
#ifndef NETMOE_LTE_NETWORK_H
#define NETMOE_LTE_NETWORK_H

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
    ns3::Vector enbPosition{0, 0, 30};           //!< the eNB antenna (m)
    uint32_t bandwidthRbs{25};                    //!< UL and DL resource blocks: 6,15,25,50,75,100
    uint32_t dlEarfcn{100};                       //!< band 1: DL 2120 MHz (UL = DL + 18000)
    double enbTxPowerDbm{43};                     //!< eNB total transmit power
    double ueTxPowerDbm{23};                      //!< UE maximum power (class 3)
    std::string scheduler{"ns3::PfFfMacScheduler"}; //!< an ns3::FfMacScheduler TypeId (or pf, rr, ...)
    std::string propagation{"logdistance"};       //!< logdistance or friis
    double exponent{3.76};                        //!< log-distance exponent
    double referenceLoss{15.3};                   //!< loss at 1 m (dB): 128.1 + 37.6 log10(d/km)
    std::string rlcMode{"am"};                    //!< am or um
    uint32_t rlcBufferBytes{131072};              //!< RLC transmission buffer per bearer
    uint32_t cellLoadUes{0};                      //!< other UEs in the cell
    double cellLoadMbps{0};                       //!< their total offered load (half DL, half UL)
    double cellLoadRadius{150};                   //!< they stand on a circle around the eNB (m)
    uint32_t cellLoadPacketBytes{1200};           //!< UDP payload per datagram
};

/** Check the settings, expand scheduler short names; NS_FATAL_ERROR with one line. */
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
    ns3::Ipv4Address userIp;                   //!< the user device (7.0.0.x)
    std::vector<ns3::Ipv4Address> expertIps;   //!< expert i at index i-1
    std::vector<ns3::Ipv4Address> loadIps;     //!< the loading UEs
    ns3::Ptr<ns3::Node> remoteHost;            //!< behind the PGW (load traffic peer)
    ns3::Ipv4Address remoteHostIp;             //!< its address
};

/**
 * Build the cell: eNB on \p enb, UEs on \p user, \p experts and \p load (all with a
 * mobility model already), the EPC and a remote host; IPv4 and default routes; every UE
 * attached to the eNB.
 */
LteNetwork BuildLteNetwork(const LteConfig& config,
                           ns3::Ptr<ns3::Node> enb,
                           ns3::Ptr<ns3::Node> user,
                           const ns3::NodeContainer& experts,
                           const ns3::NodeContainer& load);

} // namespace netmoe

#endif /* NETMOE_LTE_NETWORK_H */
