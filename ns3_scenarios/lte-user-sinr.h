/* SPDX-License-Identifier: GPL-2.0-only
 *
 * LteUserSinr: the user device's own uplink SINR at the eNB (LteEnbPhy "ReportUeSinr"
 * for its RNTI, linear, averaged over the band), as a moving average and per task. In
 * edge-moe-lte a wired edge server behind the PGW has no radio link of its own: its path
 * crosses the air once, on the user's link, so its observed SINR is this one.
 */
#ifndef NETMOE_LTE_USER_SINR_H
#define NETMOE_LTE_USER_SINR_H

#include "expert-links.h"
#include "lte-network.h"

#include "ns3/ptr.h"

namespace ns3
{
class LteUeRrc;
} // namespace ns3

namespace netmoe
{

/** The user device's uplink SINR reports (see the file comment). */
class LteUserSinr
{
  public:
    /** \param snrAlpha weight of a new sample in the moving average */
    LteUserSinr(const LteNetwork& net, double snrAlpha);
    ~LteUserSinr(); // out of line: LteUeRrc is only declared here
    LteUserSinr(const LteUserSinr&) = delete;
    LteUserSinr& operator=(const LteUserSinr&) = delete;

    /** Start a new measurement window (one task). */
    void BeginWindow();
    /** Mean SINR over the window (dB), NaN without a report. */
    double WindowMeanDb() const;
    /** Moving average (dB), NaN before the first report. */
    double AverageDb() const;
    /** Seconds since the last report, NaN if none yet. */
    double SecondsSinceLast() const;
    /** Whether the user device's RRC is connected (CONNECTED_NORMALLY). */
    bool IsConnected() const;

  private:
    void UeSinr(uint16_t cellId, uint16_t rnti, double sinrLinear, uint8_t ccId);

    ns3::Ptr<ns3::LteUeRrc> m_rrc;
    ExpertSignal m_signal; //!< one "expert": the user device
    double m_sumDb{0};
    uint32_t m_samples{0};
};

} // namespace netmoe

#endif /* NETMOE_LTE_USER_SINR_H */
