/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Per-expert LTE measurements from trace sources (see lte-monitor.h).
 */
#include "lte-monitor.h"

#include "ns3/config.h"
#include "ns3/ipv4-header.h"
#include "ns3/log.h"
#include "ns3/lte-enb-net-device.h"
#include "ns3/lte-enb-phy.h"
#include "ns3/lte-pdcp-header.h"
#include "ns3/lte-spectrum-phy.h"
#include "ns3/lte-ue-net-device.h"
#include "ns3/lte-ue-phy.h"
#include "ns3/lte-ue-rrc.h"
#include "ns3/node.h"
#include "ns3/simulator.h"

#include <cfloat>
#include <cmath>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeLteMonitor");

using namespace ns3;

LteMonitor::LteMonitor(const LteNetwork& net, double snrAlpha)
    : m_signal(net.expertDevices.GetN(), snrAlpha)
{
    const uint32_t n = net.expertDevices.GetN();
    auto enb = DynamicCast<LteEnbNetDevice>(net.enbDevice.Get(0));
    auto user = DynamicCast<LteUeNetDevice>(net.userDevice.Get(0));
    m_enbNodeId = enb->GetNode()->GetId();
    m_userNodeId = user->GetNode()->GetId();
    m_userRrc = user->GetRrc();
    m_window.resize(n);
    for (uint32_t i = 0; i < n; ++i)
    {
        auto dev = DynamicCast<LteUeNetDevice>(net.expertDevices.Get(i));
        m_expertNodeIds.push_back(dev->GetNode()->GetId());
        m_expertRrc.push_back(dev->GetRrc());
        m_byIp[net.expertIps.at(i)] = i;
        dev->GetPhy()->TraceConnectWithoutContext(
            "UlPhyTransmission",
            MakeCallback(&LteMonitor::ExpertUlTx, this).Bind(i));
        dev->GetPhy()->GetDlSpectrumPhy()->TraceConnectWithoutContext(
            "DlPhyReception",
            MakeCallback(&LteMonitor::ExpertDlRx, this).Bind(i));
    }
    user->GetPhy()->TraceConnectWithoutContext("UlPhyTransmission",
                                               MakeCallback(&LteMonitor::UserUlTx, this));
    enb->GetPhy()->TraceConnectWithoutContext("ReportUeSinr",
                                              MakeCallback(&LteMonitor::UeSinr, this));
    enb->GetPhy()->TraceConnectWithoutContext("DlPhyTransmission",
                                              MakeCallback(&LteMonitor::DlTx, this));
    enb->GetPhy()->GetUlSpectrumPhy()->TraceConnectWithoutContext(
        "UlPhyReception",
        MakeCallback(&LteMonitor::UlRx, this));
}

LteMonitor::~LteMonitor() = default;

void
LteMonitor::ConnectBearers()
{
    if (m_bearersConnected)
    {
        return;
    }
    if (m_userRrc->GetState() != LteUeRrc::CONNECTED_NORMALLY)
    {
        return;
    }
    for (const auto& rrc : m_expertRrc)
    {
        if (rrc->GetState() != LteUeRrc::CONNECTED_NORMALLY)
        {
            return;
        }
    }
    m_bearersConnected = true;
    auto ueSide = [](uint32_t node) {
        return "/NodeList/" + std::to_string(node) +
               "/DeviceList/*/$ns3::LteUeNetDevice/LteUeRrc/DataRadioBearerMap/*/LteRlc/TxDrop";
    };
    auto enbSide = [this](uint16_t rnti) {
        return "/NodeList/" + std::to_string(m_enbNodeId) +
               "/DeviceList/*/$ns3::LteEnbNetDevice/LteEnbRrc/UeMap/" + std::to_string(rnti) +
               "/DataRadioBearerMap/*/LteRlc/TxDrop";
    };
    for (uint32_t e = 0; e < m_expertRrc.size(); ++e)
    {
        auto cb = MakeBoundCallback(&LteMonitor::RlcDrop, this, static_cast<int>(e));
        Config::ConnectWithoutContext(ueSide(m_expertNodeIds[e]), cb);
        Config::ConnectWithoutContext(enbSide(m_expertRrc[e]->GetRnti()), cb);
    }
    auto cb = MakeBoundCallback(&LteMonitor::RlcDrop, this, -1);
    Config::ConnectWithoutContext(ueSide(m_userNodeId), cb);
    Config::ConnectWithoutContext(enbSide(m_userRrc->GetRnti()), cb);
}

void
LteMonitor::BeginWindow()
{
    for (auto& w : m_window)
    {
        w = LteLinkWindow{};
    }
    m_userTx = 0;
    m_userRx = 0;
}

const LteLinkWindow&
LteMonitor::Window(uint32_t e) const
{
    return m_window.at(e);
}

uint32_t
LteMonitor::UserTxSubframes() const
{
    return m_userTx;
}

uint32_t
LteMonitor::UserRxSubframes() const
{
    return m_userRx;
}

uint64_t
LteMonitor::UserTxSubframesTotal() const
{
    return m_userTxTotal;
}

uint64_t
LteMonitor::UserRxSubframesTotal() const
{
    return m_userRxTotal;
}

double
LteMonitor::ObservedSinrDb(uint32_t e) const
{
    return m_signal.AverageDb(e);
}

double
LteMonitor::SecondsSinceReport(uint32_t e) const
{
    return m_signal.SecondsSinceLast(e);
}

bool
LteMonitor::IsConnected(uint32_t e) const
{
    return m_expertRrc.at(e)->GetState() == LteUeRrc::CONNECTED_NORMALLY;
}

int
LteMonitor::ExpertOfRnti(uint16_t rnti)
{
    auto it = m_byRnti.find(rnti);
    if (it != m_byRnti.end())
    {
        return static_cast<int>(it->second);
    }
    // RNTIs are given at connection: look them up again when an unknown one shows up.
    for (uint32_t e = 0; e < m_expertRrc.size(); ++e)
    {
        const uint16_t r = m_expertRrc[e]->GetRnti();
        if (r != 0 && m_expertRrc[e]->GetState() == LteUeRrc::CONNECTED_NORMALLY)
        {
            m_byRnti[r] = e;
        }
    }
    it = m_byRnti.find(rnti);
    return it == m_byRnti.end() ? -1 : static_cast<int>(it->second);
}

int
LteMonitor::ExpertOfIp(Ptr<const Packet> pdcpPdu) const
{
    Ptr<Packet> copy = pdcpPdu->Copy();
    LtePdcpHeader pdcp;
    if (copy->GetSize() < pdcp.GetSerializedSize() + 20)
    {
        return -1;
    }
    copy->RemoveHeader(pdcp);
    Ipv4Header ip;
    copy->PeekHeader(ip);
    return ExpertOfIpHeader(m_byIp, ip);
}

void
LteMonitor::UeSinr(uint16_t /* cellId */, uint16_t rnti, double sinrLinear, uint8_t /* ccId */)
{
    if (!(sinrLinear > 0) || sinrLinear >= DBL_MAX)
    {
        return; // no SRS sample in this report
    }
    const int e = ExpertOfRnti(rnti);
    if (e < 0)
    {
        return;
    }
    const double db = 10 * std::log10(sinrLinear);
    m_window[e].sinrSumDb += db;
    m_window[e].sinrSamples++;
    m_signal.Add(e, db);
}

void
LteMonitor::DlTx(PhyTransmissionStatParameters p)
{
    if (p.m_rnti != 0 && p.m_rnti == m_userRrc->GetRnti())
    {
        if (p.m_timestamp != m_lastUserRxMs)
        {
            m_lastUserRxMs = p.m_timestamp;
            m_userRx++;
            m_userRxTotal++;
        }
        return;
    }
    const int e = ExpertOfRnti(p.m_rnti);
    if (e < 0)
    {
        return;
    }
    m_window[e].tbs++;
}

void
LteMonitor::ExpertUlTx(uint32_t e, PhyTransmissionStatParameters /* p */)
{
    m_window.at(e).tbs++;
}

void
LteMonitor::ExpertDlRx(uint32_t e, PhyReceptionStatParameters p)
{
    if (p.m_correctness == 0) // NACK: the eNB retransmits the TB (HARQ)
    {
        m_window.at(e).harqRetx++;
    }
}

void
LteMonitor::UlRx(PhyReceptionStatParameters p)
{
    const int e = ExpertOfRnti(p.m_rnti);
    if (e >= 0 && p.m_correctness == 0)
    {
        m_window[e].harqRetx++;
    }
}

void
LteMonitor::UserUlTx(PhyTransmissionStatParameters p)
{
    if (p.m_timestamp != m_lastUserTxMs)
    {
        m_lastUserTxMs = p.m_timestamp;
        m_userTx++;
        m_userTxTotal++;
    }
}

void
LteMonitor::RlcDrop(LteMonitor* self, int expert, Ptr<const Packet> p)
{
    const int e = expert >= 0 ? expert : self->ExpertOfIp(p);
    if (e >= 0)
    {
        self->m_window.at(e).rlcDrops++;
    }
}

} // namespace netmoe
