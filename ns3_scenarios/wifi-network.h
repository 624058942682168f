/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The edge-moe radio network: one IEEE 802.11 BSS on a YANS channel with a selectable
 * propagation loss model and optional Nakagami fading, plus the energy model of the user
 * device's radio (ue-radio-energy.h). Its access point is either the user device itself
 * (topology direct: a phone hotspot / Wi-Fi Direct group owner, the experts its
 * stations) or a separate access point node (topology infrastructure: a home gateway
 * or campus AP, the user device and the experts all its stations, so user-to-expert
 * frames cross the air twice, relayed by the AP).
 */
#ifndef NETMOE_WIFI_NETWORK_H
#define NETMOE_WIFI_NETWORK_H

#include "ue-radio-energy.h"

#include "netmoe/scenario-defaults.h"

#include "ns3/net-device-container.h"
#include "ns3/node-container.h"
#include "ns3/yans-wifi-channel.h"

#include <memory>
#include <string>
#include <vector>

namespace netmoe
{

/** Radio settings, from the command line. */
struct WifiConfig
{
    std::string standard{defaults::standard};       //!< 80211ax, 80211ac, 80211n, 80211g, 80211a
    double bandGhz{0};                               //!< 2.4, 5 or 6; 0: the standard's default
    uint32_t channelWidth{defaults::channelWidth};   //!< MHz
    std::string rateManager{defaults::rateManager};  //!< ideal, minstrel, constant, ... or ns3::...
    std::string rateManagerTypeId;                   //!< resolved by ValidateWifiConfig
    std::string dataMode;                  //!< for constant: e.g. HeMcs4 (empty: per standard)
    std::string propagation{defaults::propagation}; //!< logdistance, friis, 3gpp-indoor, buildings
    double exponent{defaults::exponent};             //!< log-distance path-loss exponent
    double referenceLoss{defaults::referenceLoss};   //!< log-distance loss at 1 m (dB)
    bool nakagami{defaults::nakagami != 0};          //!< add Nakagami-m fading
    double nakagamiM{defaults::nakagamiM};           //!< Nakagami m (1 = Rayleigh), all distances
    double txPowerDbm{defaults::txPowerDbm};         //!< every device's transmit power
    double wallLossDb{defaults::wallLossDb};         //!< buildings: loss per internal wall (dB)
    double shadowSigmaDb{defaults::shadowSigmaDb};   //!< buildings: indoor shadowing sigma (dB)
};

/** What BuildWifiNetwork made. */
struct WifiNetwork
{
    ns3::NetDeviceContainer ueDevice;      //!< the user device (direct: the access point)
    ns3::NetDeviceContainer apDevice;      //!< infrastructure: the access point (else empty)
    ns3::NetDeviceContainer expertDevices; //!< stations, expert i at index i-1
    ns3::NetDeviceContainer otherUsers;    //!< users 1..M-1: stations, user u at index u-1
    std::shared_ptr<UeRadioEnergy> ueRadio; //!< user-device radio energy
    std::vector<std::shared_ptr<UeRadioEnergy>> otherRadios; //!< users 1..M-1, same order
    double frequencyMhz{0};                //!< operating channel centre frequency
    ns3::Ptr<ns3::YansWifiChannel> channel; //!< the shared channel (for co-channel BSSs)
};

/**
 * Check the rules between the settings (band and width of the standard, known models,
 * manager and data mode) and resolve the per-standard defaults (band, dataMode) and the
 * manager's TypeId; ConfigError for the flag at fault.
 */
void ValidateWifiConfig(WifiConfig& config);

/** The ns-3 TypeId of \p config's rate manager (short names expanded). */
std::string RateManagerTypeId(const WifiConfig& config);

/**
 * Build the BSS on \p ue and \p experts (stations). Without \p ap the user device is the
 * access point; with it, \p ap is and the user device is a station too. \p otherUsers
 * (users 1..M-1) are stations of the same BSS, installed after everything else (with
 * one user the network is built exactly as before users existed); in direct topology
 * user 0's hotspot relays their traffic.
 */
WifiNetwork BuildWifiNetwork(const WifiConfig& config,
                             ns3::Ptr<ns3::Node> ue,
                             const ns3::NodeContainer& experts,
                             ns3::Ptr<ns3::Node> ap = nullptr,
                             const ns3::NodeContainer& otherUsers = ns3::NodeContainer());

/**
 * A second BSS on the same channel and radio settings (other Wi-Fi users nearby): \p ap
 * is its access point, \p stations associate to it. Returns the AP's device first.
 */
ns3::NetDeviceContainer BuildCoChannelBss(const WifiConfig& config,
                                          ns3::Ptr<ns3::YansWifiChannel> channel,
                                          ns3::Ptr<ns3::Node> ap,
                                          const ns3::NodeContainer& stations);

/** BSS colour of the scenario's own BSS and of the co-channel BSS (802.11ax, 1..63). */
constexpr uint8_t kOwnBssColor = 1;
constexpr uint8_t kNeighbourBssColor = 2; //!< see SetBssColor

/**
 * Entries in the station lists of the Wi-Fi access points among \p devices: one per
 * associated station (RangeEdge's low-ack disassociation once left one more behind per
 * disassociation; --progressEvery prints this).
 */
uint32_t ApStationEntries(const ns3::NetDeviceContainer& devices);

/**
 * Give \p devices (one BSS) the 802.11ax BSS colour \p color, as every 802.11ax access
 * point advertises one. An HE PHY then stops receiving another BSS's HE PPDU at the end
 * of its HE-SIG-A (the medium stays busy for the PPDU's duration: CCA and interference
 * are unchanged), as a real HE radio does, instead of decoding a payload its MAC would
 * drop. Legacy PPDUs (ACKs, beacons) carry no colour and are still received. No effect
 * on devices without an HE configuration (802.11n/ac/a/g).
 */
void SetBssColor(const ns3::NetDeviceContainer& devices, uint8_t color);

} // namespace netmoe

#endif /* NETMOE_WIFI_NETWORK_H */
