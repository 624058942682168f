/* SPDX-License-Identifier: GPL-2.0-only
 *
 * RangeEdge: what a real access point does when a station drifts out of range and
 * back, and the ns-3 3.44 Wi-Fi MAC does not (docs/scenario.md, "Edge of range").
 *
 *  1. Low-ack disassociation. An access point that gets no answer (no Ack, no Block
 *     Ack) to `lowAckThreshold` consecutive transmissions to a station disassociates
 *     it: it discards the frames queued for the station and tears down the Block Ack
 *     agreements it holds with it as originator. This is hostapd's `disassoc_low_ack`,
 *     which Linux mac80211 raises after 50 consecutive unacknowledged frames. Without
 *     it, ns-3 3.44 keeps sending BlockAckRequests to a departed station about every
 *     180 us with no back-off; they fill the access point's queue and other stations'
 *     frames expire in it.
 *  2. Deauthentication. A station that sends data to the access point while the access
 *     point does not count it as associated is deauthenticated (IEEE 802.11-2020
 *     11.3.3, reason 7: class 3 frame from a nonassociated station) and associates
 *     again. ns-3 3.44 drops such frames silently, so a station whose Ack of the
 *     association response was lost stays cut off while it believes it is associated.
 *
 * Stations keep ns-3's own behaviour (they give up an access point after missing ten
 * beacons), as Linux stations do. Neither management frame is put on the air: its
 * effect is applied directly (a Disassociation or Deauthentication is ~30 bytes at a
 * basic rate, small next to the traffic that triggers it). The station restarts
 * association through the public StaWifiMac::ScanningTimeout with no candidate, the
 * step ns-3 itself takes when a scan found no access point: it scans again and
 * associates afresh. (StaWifiMac::NotifyChannelSwitching would also disassociate, but
 * it resets the station's remote-station state, and frames still queued then trip an
 * NS_ASSERT on the access point's HT capabilities in WifiMac::GetMaxBaBufferSize.)
 */
#ifndef NETMOE_RANGE_EDGE_H
#define NETMOE_RANGE_EDGE_H

#include "ns3/callback.h"
#include "ns3/mac48-address.h"
#include "ns3/net-device-container.h"
#include "ns3/packet.h"
#include "ns3/wifi-mac.h"
#include "ns3/wifi-phy.h"

#include <map>
#include <vector>

namespace netmoe
{

/** What RangeEdge did, per station (index i-1 for station i). */
struct RangeEdgeCounts
{
    std::vector<uint32_t> disassociated;   //!< low-ack disassociations by the access point
    std::vector<uint32_t> deauthenticated; //!< deauthentications of the station
};

/** Hooks one BSS: the access point \p ap and its \p stations. */
class RangeEdge
{
  public:
    /**
     * \param ap the access point's WifiNetDevice
     * \param stations the stations' WifiNetDevices
     * \param lowAckThreshold consecutive unanswered transmissions to a station before
     *        the access point disassociates it (> 0; with 0 the scenario makes none)
     */
    RangeEdge(ns3::Ptr<ns3::NetDevice> ap,
              const ns3::NetDeviceContainer& stations,
              uint32_t lowAckThreshold);

    /** What happened so far. */
    const RangeEdgeCounts& Counts() const;

    /**
     * Called with station i-1 right after the access point disassociated station i (its
     * queued frames dropped): what hostapd reports as AP-STA-DISCONNECTED to the programs
     * on the access point's device.
     */
    void SetDisassociatedCallback(ns3::Callback<void, uint32_t> cb);

  private:
    void Unanswered(ns3::Mac48Address station);
    void MpduTimeout(uint8_t reason,
                     ns3::Ptr<const ns3::WifiMpdu> mpdu,
                     const ns3::WifiTxVector& txVector);
    void PsduTimeout(uint8_t reason,
                     ns3::Ptr<const ns3::WifiPsdu> psdu,
                     const ns3::WifiTxVector& txVector);
    void Acked(ns3::Ptr<const ns3::WifiMpdu> mpdu);
    void Disassociate(uint32_t station);
    /** The access point's AssociatedSta trace: drop \p station's older entries. */
    void Associated(uint16_t aid, ns3::Mac48Address station);
    void ApSniffRx(ns3::Ptr<const ns3::Packet> p,
                   uint16_t freqMhz,
                   ns3::WifiTxVector txVector,
                   ns3::MpduInfo info,
                   ns3::SignalNoiseDbm sn,
                   uint16_t staId);
    void Deauthenticate(uint32_t station);
    int StationOf(ns3::Mac48Address a) const;

    uint32_t m_threshold;
    ns3::Ptr<ns3::WifiMac> m_ap;                      //!< the access point's MAC
    std::vector<ns3::Ptr<ns3::WifiMac>> m_stations;   //!< station i at index i-1
    std::vector<ns3::Mac48Address> m_addrs;           //!< same indexing
    std::vector<uint32_t> m_silent;          //!< unanswered transmissions in a row
    std::vector<bool> m_deauthPending;       //!< a deauthentication is scheduled
    RangeEdgeCounts m_counts;
    ns3::Callback<void, uint32_t> m_disassociated; //!< see SetDisassociatedCallback
};

} // namespace netmoe

#endif /* NETMOE_RANGE_EDGE_H */
