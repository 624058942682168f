/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The user device's uplink SINR at the eNB (see lte-user-sinr.h).
 */
#include "lte-user-sinr.h"

#include "ns3/lte-enb-net-device.h"
#include "ns3/lte-enb-phy.h"
#include "ns3/lte-ue-net-device.h"
#include "ns3/lte-ue-rrc.h"

#include <cfloat>
#include <cmath>
#include <limits>

namespace netmoe
{

using namespace ns3;

LteUserSinr::LteUserSinr(const LteNetwork& net, double snrAlpha)
    : m_rrc(DynamicCast<LteUeNetDevice>(net.userDevice.Get(0))->GetRrc()),
      m_signal(1, snrAlpha)
{
    DynamicCast<LteEnbNetDevice>(net.enbDevice.Get(0))
        ->GetPhy()
        ->TraceConnectWithoutContext("ReportUeSinr", MakeCallback(&LteUserSinr::UeSinr, this));
}

LteUserSinr::~LteUserSinr() = default;

void
LteUserSinr::BeginWindow()
{
    m_sumDb = 0;
    m_samples = 0;
}

double
LteUserSinr::WindowMeanDb() const
{
    return m_samples > 0 ? m_sumDb / m_samples : std::numeric_limits<double>::quiet_NaN();
}

double
LteUserSinr::AverageDb() const
{
    return m_signal.AverageDb(0);
}

double
LteUserSinr::SecondsSinceLast() const
{
    return m_signal.SecondsSinceLast(0);
}

bool
LteUserSinr::IsConnected() const
{
    return m_rrc->GetState() == LteUeRrc::CONNECTED_NORMALLY;
}

void
LteUserSinr::UeSinr(uint16_t /* cellId */, uint16_t rnti, double sinrLinear, uint8_t /* ccId */)
{
    if (!(sinrLinear > 0) || sinrLinear >= DBL_MAX || !IsConnected() || rnti != m_rrc->GetRnti())
    {
        return; // another UE's report, or no SRS sample in it
    }
    const double db = 10 * std::log10(sinrLinear);
    m_signal.Add(0, db);
    m_sumDb += db;
    m_samples++;
}

} // namespace netmoe
