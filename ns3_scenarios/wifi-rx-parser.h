/* SPDX-License-Identifier: GPL-2.0-only
 *
 * WifiRxParser: what a frame a Wi-Fi PHY receives tells the edge-moe monitors (LinkMonitor,
 * direct; InfraMonitor, infrastructure), parsed in this one place.
 *
 *  - SNR samples: WifiPhy "MonitorSnifferRx", signal - noise (dBm), one sample per received
 *    PPDU, keyed by the transmitter address (Addr2) of its first correctly received MPDU.
 *    Subframes of an A-MPDU (and S-MPDUs) arrive with an AmpduSubframeHeader in front of
 *    the WifiMacHeader: it is removed before peeking, and the subframes of one A-MPDU (same
 *    mpduRefNumber) give one sample. An ACK or CTS has no Addr2 and gives none. A monitor
 *    that takes only some frames' samples (one user's among several, ConnectMpduSnr) is
 *    offered each MPDU of the PPDU with its body until it takes one: the PPDU's sample is
 *    then the SNR of a frame that user's traffic rode on.
 *  - Receptions (airtime): "PhyRxBegin" + "PhyRxPayloadBegin": the MAC header of the PSDU's
 *    first MPDU, that MPDU's body (an LLC/SNAP packet for a data frame) and the payload
 *    duration, i.e. the time the radio is in RX state.
 *  - Which IPv4 packet a data MPDU carries (its LLC/SNAP body's IPv4 header), and UserTraffic:
 *    with several user devices, each user's monitor counts only its own packets.
 *  - LinkWindow: the per-expert counters of one measurement window (one task).
 * The monitors attribute the frames to experts (by MAC or by IPv4 address) and count them.
 */
#ifndef NETMOE_WIFI_RX_PARSER_H
#define NETMOE_WIFI_RX_PARSER_H

#include "ns3/callback.h"
#include "ns3/ipv4-address.h"
#include "ns3/ipv4-header.h"
#include "ns3/mac48-address.h"
#include "ns3/nstime.h"
#include "ns3/packet.h"
#include "ns3/wifi-mac-header.h"
#include "ns3/wifi-phy.h"
#include "ns3/wifi-ppdu.h"

#include <cstdint>

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

    /** Add one SNR sample of \p db (dB). */
    void AddSnr(double db);
    /** Mean of the window's SNR samples (dB), NaN if none. */
    double SnrMeanDb() const;
};

/**
 * The IPv4 header of the packet an MPDU body \p llcPacket (LLC/SNAP) carries, into \p ip;
 * false if it carries no IPv4 packet.
 */
bool PeekIpv4OfLlc(ns3::Ptr<const ns3::Packet> llcPacket, ns3::Ipv4Header& ip);

/** An A-MSDU: several LLC packets in one MPDU, not parsed here (ns-3 sends none by default). */
bool IsAmsdu(const ns3::WifiMacHeader& h);

/** The traffic one user device's monitor counts: all, or that user's IPv4 packets. */
class UserTraffic
{
  public:
    /** Count only IPv4 packets from or to \p ip from now on. */
    void SetUserIp(ns3::Ipv4Address ip);
    /** Whether SetUserIp was called. */
    bool Filtering() const;
    /** Whether the packet with header \p ip counts (always, before SetUserIp). */
    bool Counts(const ns3::Ipv4Header& ip) const;

  private:
    bool m_filter{false};      //!< SetUserIp was called
    ns3::Ipv4Address m_userIp; //!< the user device's address then
};

/**
 * Parses the frames one WifiPhy receives (see the file comment) and hands them to the
 * monitor's callbacks. Hooks the PHY's trace sources with itself as the sink: keep it at a
 * fixed address (a member of the monitor) while the simulation runs.
 */
class WifiRxParser
{
  public:
    /** One SNR sample of a PPDU: its transmitter (Addr2) and signal - noise (dB). */
    using SnrCallback = ns3::Callback<void, ns3::Mac48Address, double>;
    /**
     * An MPDU of a PPDU offered as the PPDU's SNR sample: its MAC header, its body (after
     * the header) and signal - noise (dB). Returns whether the sample is taken, or the
     * PPDU holds none for the monitor; false: offer the A-MPDU's next subframe.
     */
    using MpduSnrCallback =
        ns3::Callback<bool, const ns3::WifiMacHeader&, ns3::Ptr<const ns3::Packet>, double>;
    /**
     * A PSDU's payload starts: its first MPDU's MAC header, that MPDU's body (after the
     * header) and the payload's duration.
     */
    using RxCallback =
        ns3::Callback<void, const ns3::WifiMacHeader&, ns3::Ptr<ns3::Packet>, ns3::Time>;

    WifiRxParser() = default;
    WifiRxParser(const WifiRxParser&) = delete;
    WifiRxParser& operator=(const WifiRxParser&) = delete;

    /** Hook \p phy's "MonitorSnifferRx": \p snr gets one sample per PPDU with an Addr2. */
    void ConnectSnr(ns3::Ptr<ns3::WifiPhy> phy, SnrCallback snr);
    /**
     * Hook \p phy's "MonitorSnifferRx": \p snr is offered each MPDU with an Addr2 until it
     * takes one per PPDU (instead of ConnectSnr; one of the two per parser).
     */
    void ConnectMpduSnr(ns3::Ptr<ns3::WifiPhy> phy, MpduSnrCallback snr);
    /** Hook \p phy's "PhyRxBegin" + "PhyRxPayloadBegin": \p rx gets each reception. */
    void ConnectRx(ns3::Ptr<ns3::WifiPhy> phy, RxCallback rx);

  private:
    void SniffRx(ns3::Ptr<const ns3::Packet> p,
                 uint16_t freqMhz,
                 ns3::WifiTxVector txVector,
                 ns3::MpduInfo info,
                 ns3::SignalNoiseDbm sn,
                 uint16_t staId);
    void RxBegin(ns3::Ptr<const ns3::Packet> p, ns3::RxPowerWattPerChannelBand powers);
    void RxPayloadBegin(ns3::WifiTxVector txVector, ns3::Time duration);

    SnrCallback m_snr;
    MpduSnrCallback m_mpduSnr;
    RxCallback m_rx;
    uint32_t m_lastAmpduRef{0};             //!< A-MPDU already sampled
    bool m_ampduSampled{false};             //!< whether m_lastAmpduRef is valid
    ns3::Ptr<const ns3::Packet> m_rxPacket; //!< PSDU whose reception started last
};

} // namespace netmoe

#endif /* NETMOE_WIFI_RX_PARSER_H */
