/* SPDX-License-Identifier: GPL-2.0-only
 *
 * LinkMonitor: what the edge-moe scenario measures per expert from ns-3 trace sources.
 *
 *  - SNR at the user device: WifiPhy "MonitorSnifferRx" on the user device's PHY,
 *    signal - noise (dBm), one sample per received PPDU, keyed by the transmitter address
 *    (Addr2) of its first correctly received MPDU. Subframes of an A-MPDU (and S-MPDUs)
 *    arrive with an AmpduSubframeHeader in front of the WifiMacHeader: it is removed
 *    before peeking, and the subframes of one A-MPDU (same mpduRefNumber) give one sample.
 *  - Data frames sent and retransmitted, both directions: WifiPhy "PhyTxPsduBegin" on
 *    every device; each data MPDU between the user device and expert i counts once per
 *    transmission attempt, and attempts with the Retry bit set are retransmissions.
 *  - Frames lost: WifiMac "DroppedMpdu" (retry limit, lifetime, queue) for data MPDUs
 *    between the user and expert i, plus WifiMac "MacTxDrop" (e.g. a packet for a
 *    station that is not associated), matched to the expert by IPv4 address.
 *  - Airtime for the energy attribution: "PhyTxPsduBegin" on the user device (whole PPDU
 *    duration, attributed to the receiver Addr1) and "PhyRxBegin" + "PhyRxPayloadBegin"
 *    (payload duration, i.e. the time the radio is in RX state, attributed to the
 *    transmitter; an ACK/CTS, which has no Addr2, to the station the user device last
 *    sent to).
 */
#ifndef NETMOE_LINK_MONITOR_H
#define NETMOE_LINK_MONITOR_H

#include "expert-links.h"
#include "wifi-network.h"

#include "ns3/ipv4-address.h"
#include "ns3/mac48-address.h"
#include "ns3/nstime.h"
#include "ns3/packet.h"
#include "ns3/wifi-mac.h"
#include "ns3/wifi-phy.h"
#include "ns3/wifi-ppdu.h"

#include <map>
#include <vector>

namespace netmoe
{

/** Per-expert counters over one measurement window (one task). */
struct LinkWindow
{
    double snrSumDb{0};      //!< sum of per-PPDU SNR samples (dB)
    uint32_t snrSamples{0};  //!< number of SNR samples
    uint32_t dataSent{0};    //!< data MPDU transmission attempts, both ways
    uint32_t retries{0};     //!< attempts with the Retry bit
    uint32_t lost{0};        //!< frames dropped by the MACs
    ns3::Time txAirtime;     //!< user-device TX airtime to the expert
    ns3::Time rxAirtime;     //!< user-device RX (payload) airtime from the expert
};

/** Hooks the trace sources of a WifiNetwork and keeps per-expert measurements. */
class LinkMonitor
{
  public:
    /**
     * \param net the network to observe
     * \param expertIps expert i's IPv4 address at index i-1
     * \param snrAlpha weight of a new sample in the SNR moving average (observation)
     */
    LinkMonitor(const WifiNetwork& net,
                const std::vector<ns3::Ipv4Address>& expertIps,
                double snrAlpha);

    /**
     * Count only frames of IPv4 packets from or to \p ip (several user devices: user 0's
     * hotspot also relays the other users' traffic, which is not user 0's link).
     */
    void SetUserIp(ns3::Ipv4Address ip);

    /** Start a new measurement window (zeroes the LinkWindow counters). */
    void BeginWindow();
    /** Counters of expert \p e (0-based) since BeginWindow(). */
    const LinkWindow& Window(uint32_t e) const;

    /** Moving average of the SNR heard from expert \p e (dB), NaN if never heard. */
    double ObservedSnrDb(uint32_t e) const;
    /** Seconds since expert \p e was last heard, NaN if never. */
    double SecondsSinceHeard(uint32_t e) const;
    /** Whether expert \p e is associated with the user device's access point. */
    bool IsAssociated(uint32_t e) const;

  private:
    int ExpertOf(ns3::Mac48Address a) const;
    int ExpertOfIp(ns3::Ptr<const ns3::Packet> llcPacket) const;
    /** Whether the filter (SetUserIp) lets the LLC packet \p llcPacket's frame count. */
    bool Counts(ns3::Ptr<const ns3::Packet> llcPacket) const;
    void CountPsdu(ns3::Ptr<const ns3::WifiPsdu> psdu);
    void UeTx(ns3::WifiConstPsduMap psdus, ns3::WifiTxVector txVector, double powerW);
    void ExpertTx(ns3::WifiConstPsduMap psdus, ns3::WifiTxVector txVector, double powerW);
    void UeRxBegin(ns3::Ptr<const ns3::Packet> p, ns3::RxPowerWattPerChannelBand powers);
    void UeRxPayloadBegin(ns3::WifiTxVector txVector, ns3::Time duration);
    void UeSniffRx(ns3::Ptr<const ns3::Packet> p,
                   uint16_t freqMhz,
                   ns3::WifiTxVector txVector,
                   ns3::MpduInfo info,
                   ns3::SignalNoiseDbm sn,
                   uint16_t staId);
    void MpduDropped(ns3::WifiMacDropReason reason, ns3::Ptr<const ns3::WifiMpdu> mpdu);
    void PacketDropped(ns3::Ptr<const ns3::Packet> p);

    ns3::Ptr<ns3::WifiPhy> m_uePhy;
    ns3::Ptr<ns3::WifiMac> m_ueMac;
    ns3::Mac48Address m_ueAddr;
    std::vector<ns3::Mac48Address> m_expertAddrs;
    std::map<ns3::Mac48Address, uint32_t> m_byMac;
    std::map<ns3::Ipv4Address, uint32_t> m_byIp;
    bool m_filterUser{false};  //!< SetUserIp was called
    ns3::Ipv4Address m_userIp; //!< the user device's address then
    ExpertSignal m_signal; //!< SNR observation (moving average, last heard)
    std::vector<LinkWindow> m_window;
    int m_lastTxTarget{-1};              //!< expert the user device last sent a frame to
    uint32_t m_lastAmpduRef{0};          //!< A-MPDU already sampled
    bool m_ampduSampled{false};
    ns3::Ptr<const ns3::Packet> m_rxPacket; //!< PSDU whose reception started last
};

} // namespace netmoe

#endif /* NETMOE_LINK_MONITOR_H */
