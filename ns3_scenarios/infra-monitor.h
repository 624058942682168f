/* SPDX-License-Identifier: GPL-2.0-only
 *
 * InfraMonitor: what edge-moe measures per expert with --topology=infrastructure, where
 * the user device and the wireless experts are stations of a separate access point and
 * wired servers hang off the AP's gateway. A user-to-expert frame crosses the air twice
 * (user <-> AP, AP <-> expert), so frames are matched to an expert by the IPv4 addresses
 * they carry, not by MAC addresses (the user device only ever talks to the AP).
 *
 *  - Path SNR (observation and report): the bottleneck of the path's radio hops, i.e. the
 *    minimum of (a) the user's own hop, SNR of the AP's frames (beacons, data) at the user
 *    device's PHY, what the device itself knows of its link, and (b) for a wireless
 *    expert, its hop, SNR of its frames at the AP's PHY (what the AP's station table
 *    reports). A wired server has no radio hop of its own: its path SNR is the user's hop.
 *    Each hop is a moving average of per-PPDU samples (WifiRxParser: one per A-MPDU), all
 *    taken before the observation time. Age: the older of the hops' last samples.
 *    Several user devices (SetUserIp): the access point measures an expert's hop from
 *    every frame it receives, but user u learns only the samples of frames of its own
 *    exchanges with the expert (data frames carrying u's IPv4 packets; as if the AP
 *    stamped the hop's quality on what it relays to u), not those of other users'
 *    traffic, heartbeats to another user or management frames. Until u has one, the
 *    expert's path is unknown to u: NaN SNR and age.
 *  - Data frames sent / retransmitted: "PhyTxPsduBegin" on every device of the BSS (the
 *    user's, the AP's, the experts'), each data MPDU carrying expert e's traffic counted
 *    once per attempt on each hop, Retry bit = retransmission.
 *  - Frames lost: "DroppedMpdu" and "MacTxDrop" on every MAC of the BSS, matched by IP.
 *  - Airtime of the user device's radio (energy attribution): "PhyTxPsduBegin" on its PHY
 *    (to the expert whose traffic the PSDU carries; a control frame to the expert of the
 *    last data frame received) and its receptions (WifiRxParser: from the expert whose
 *    traffic the frame carries; ACK/CTS/Block Ack to the expert of the last data sent).
 */
#ifndef NETMOE_INFRA_MONITOR_H
#define NETMOE_INFRA_MONITOR_H

#include "expert-links.h"
#include "wifi-network.h"
#include "wifi-rx-parser.h"

#include "ns3/ipv4-address.h"
#include "ns3/mac48-address.h"
#include "ns3/packet.h"
#include "ns3/wifi-mac.h"
#include "ns3/wifi-phy.h"

#include <map>
#include <vector>

namespace netmoe
{

/** Per-expert measurements of an infrastructure BSS (see the file comment). */
class InfraMonitor
{
  public:
    /**
     * \param net the network (with its apDevice)
     * \param expertIps expert i's IPv4 address at index i-1: the wireless experts (the
     *        net's expertDevices, same order), then the wired servers
     * \param snrAlpha weight of a new sample in the SNR moving averages
     */
    InfraMonitor(const WifiNetwork& net,
                 const std::vector<ns3::Ipv4Address>& expertIps,
                 double snrAlpha);

    /**
     * Count only the traffic of IPv4 packets from or to \p ip (several user devices
     * share the BSS: the others' traffic with an expert is not this user's path).
     */
    void SetUserIp(ns3::Ipv4Address ip);

    /** Start a new measurement window (one task). */
    void BeginWindow();
    /** Counters of expert \p e since BeginWindow() (its snr fields are unused). */
    const LinkWindow& Window(uint32_t e) const;
    /** Path SNR of expert \p e over the window: min of its hops' means, NaN if none. */
    double WindowSnrDb(uint32_t e) const;

    /** Path SNR of expert \p e: min of its hops' moving averages (dB), NaN if none. */
    double ObservedSnrDb(uint32_t e) const;
    /** Seconds since the older of expert \p e's hops was last heard, NaN if never. */
    double SecondsSinceHeard(uint32_t e) const;
    /** The user device is associated, and so is expert \p e if it is a radio expert. */
    bool IsAssociated(uint32_t e) const;

  private:
    bool IsWired(uint32_t e) const;
    int ExpertOfLlc(ns3::Ptr<const ns3::Packet> llcPacket) const;
    int ExpertOfPsdu(ns3::Ptr<const ns3::WifiPsdu> psdu, bool count);
    void UeTx(ns3::WifiConstPsduMap psdus, ns3::WifiTxVector txVector, double powerW);
    void OtherTx(ns3::WifiConstPsduMap psdus, ns3::WifiTxVector txVector, double powerW);
    void UeRx(const ns3::WifiMacHeader& h, ns3::Ptr<ns3::Packet> body, ns3::Time duration);
    /** A sample of the user's hop (the AP's frames at the user device). */
    void UeSnr(ns3::Mac48Address addr2, double snrDb);
    /**
     * A sample of a radio expert's hop (its frame at the AP, header \p h and body \p body);
     * with SetUserIp only from a data frame of this user's traffic. Returns whether the
     * PPDU needs no more offers (WifiRxParser::MpduSnrCallback).
     */
    bool ApSnr(const ns3::WifiMacHeader& h, ns3::Ptr<const ns3::Packet> body, double snrDb);
    /** Several users, and this one has not yet measured radio expert \p e's hop. */
    bool HopUnknown(uint32_t e) const;
    void MpduDropped(ns3::WifiMacDropReason reason, ns3::Ptr<const ns3::WifiMpdu> mpdu);
    void PacketDropped(ns3::Ptr<const ns3::Packet> p);

    uint32_t m_numWireless;
    ns3::Ptr<ns3::WifiPhy> m_uePhy;
    ns3::Ptr<ns3::WifiMac> m_ueMac;
    ns3::Ptr<ns3::WifiMac> m_apMac;
    ns3::Mac48Address m_apAddr;
    std::vector<ns3::Mac48Address> m_expertAddrs; //!< the radio experts'
    std::map<ns3::Mac48Address, uint32_t> m_byMac;
    std::map<ns3::Ipv4Address, uint32_t> m_byIp;
    UserTraffic m_user; //!< whose traffic counts
    ExpertSignal m_userHop;   //!< the AP's frames at the user device (one "expert")
    ExpertSignal m_expertHop; //!< each radio expert's frames at the AP (this user's only)
    std::vector<LinkWindow> m_window; //!< snrSumDb/snrSamples: the expert's own hop
    LinkWindow m_userWindow;          //!< snrSumDb/snrSamples: the user's hop
    int m_lastTxTarget{-1}; //!< expert whose traffic the user device last sent
    int m_lastRxSource{-1}; //!< expert whose traffic the user device last received
    WifiRxParser m_ueRx; //!< the user device's receptions
    WifiRxParser m_apRx; //!< the access point's receptions (SNR of the experts' hops)
};

} // namespace netmoe

#endif /* NETMOE_INFRA_MONITOR_H */
