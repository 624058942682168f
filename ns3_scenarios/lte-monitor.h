/* SPDX-License-Identifier: GPL-2.0-only
 *
 * LteMonitor: what edge-moe-lte measures per expert from ns-3 LTE trace sources.
 *
 *  - SINR: LteEnbPhy "ReportUeSinr" (uplink SINR of a UE at the eNB, from its sounding
 *    reference signals and PUSCH, linear, averaged over the band), keyed by the expert's
 *    RNTI. The expert's uplink carries its reply, the larger part of a subtask.
 *  - Transport blocks on the expert's radio link, both ways: LteEnbPhy
 *    "DlPhyTransmission" for the expert's RNTI (downlink) and the expert's LteUePhy
 *    "UlPhyTransmission" (uplink grants), HARQ retransmissions included.
 *  - HARQ retransmissions: TBs of the expert's link received in error (a NACK, which
 *    makes the sender retransmit): the expert's DL LteSpectrumPhy "DlPhyReception" and
 *    the eNB's UL LteSpectrumPhy "UlPhyReception" with correctness 0.
 *  - Losses: LteRlc "TxDrop" (an SDU dropped because the RLC buffer is full) on the
 *    expert's bearers (UE and eNB side), plus those on the user device's bearers whose
 *    IPv4 packet is to or from the expert.
 *  - The user device's radio airtime for the energy estimate: subframes in which it is
 *    granted an uplink TB (its LteUePhy "UlPhyTransmission") or sent a downlink TB (eNB
 *    "DlPhyTransmission" for its IMSI).
 */
#ifndef NETMOE_LTE_MONITOR_H
#define NETMOE_LTE_MONITOR_H

#include "expert-links.h"
#include "lte-network.h"

#include "ns3/lte-common.h"
#include "ns3/nstime.h"
#include "ns3/packet.h"

#include <map>
#include <vector>

namespace ns3
{
class LteUeRrc;
} // namespace ns3

namespace netmoe
{

/** Per-expert counters over one measurement window (one task). */
struct LteLinkWindow
{
    double sinrSumDb{0};     //!< sum of uplink SINR samples (dB)
    uint32_t sinrSamples{0}; //!< number of samples
    uint32_t tbs{0};         //!< transport blocks on the expert's link, UL + DL, HARQ retx incl.
    uint32_t harqRetx{0};    //!< TBs received in error (each NACK: a HARQ retransmission)
    uint32_t rlcDrops{0};    //!< RLC SDUs dropped on the way to or from the expert
};

/** Hooks the trace sources of an LteNetwork and keeps per-expert measurements. */
class LteMonitor
{
  public:
    /** \param snrAlpha weight of a new sample in the SINR moving average (observation) */
    LteMonitor(const LteNetwork& net, double snrAlpha);
    ~LteMonitor();
    LteMonitor(const LteMonitor&) = delete;
    LteMonitor& operator=(const LteMonitor&) = delete;

    /** Hook the RLC traces (the bearers exist once every UE is connected); idempotent. */
    void ConnectBearers();

    /** Start a new measurement window. */
    void BeginWindow();
    /** Counters of expert \p e (0-based) since BeginWindow(). */
    const LteLinkWindow& Window(uint32_t e) const;
    /** Subframes with an uplink / downlink TB of the user device since BeginWindow(). */
    uint32_t UserTxSubframes() const;
    uint32_t UserRxSubframes() const;
    /** The same since the monitor was created (several users: each user's energy). */
    uint64_t UserTxSubframesTotal() const;
    uint64_t UserRxSubframesTotal() const;

    /** Moving average of expert \p e's uplink SINR (dB), NaN before the first report. */
    double ObservedSinrDb(uint32_t e) const;
    /** Seconds since expert \p e's last SINR report, NaN if none yet. */
    double SecondsSinceReport(uint32_t e) const;
    /** Whether expert \p e's RRC is connected (CONNECTED_NORMALLY). */
    bool IsConnected(uint32_t e) const;

  private:
    int ExpertOfRnti(uint16_t rnti);
    int ExpertOfIp(ns3::Ptr<const ns3::Packet> pdcpPdu) const;
    void UeSinr(uint16_t cellId, uint16_t rnti, double sinrLinear, uint8_t ccId);
    void DlTx(ns3::PhyTransmissionStatParameters p);
    void ExpertUlTx(uint32_t e, ns3::PhyTransmissionStatParameters p);
    void UserUlTx(ns3::PhyTransmissionStatParameters p);
    void ExpertDlRx(uint32_t e, ns3::PhyReceptionStatParameters p);
    void UlRx(ns3::PhyReceptionStatParameters p);
    static void RlcDrop(LteMonitor* self, int expert, ns3::Ptr<const ns3::Packet> p);

    ExpertSignal m_signal; //!< SINR observation (moving average, last report)
    uint32_t m_enbNodeId;
    uint32_t m_userNodeId;
    std::vector<uint32_t> m_expertNodeIds;
    std::vector<ns3::Ptr<ns3::LteUeRrc>> m_expertRrc;
    ns3::Ptr<ns3::LteUeRrc> m_userRrc;
    std::map<uint16_t, uint32_t> m_byRnti;
    std::map<ns3::Ipv4Address, uint32_t> m_byIp;
    std::vector<LteLinkWindow> m_window;
    uint32_t m_userTx{0};
    uint32_t m_userRx{0};
    uint64_t m_userTxTotal{0};
    uint64_t m_userRxTotal{0};
    int64_t m_lastUserTxMs{-1};
    int64_t m_lastUserRxMs{-1};
    bool m_bearersConnected{false};
};

} // namespace netmoe

#endif /* NETMOE_LTE_MONITOR_H */
