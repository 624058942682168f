/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Per-expert measurements of an infrastructure BSS (see infra-monitor.h).
 */
#include "infra-monitor.h"

#include "ns3/ap-wifi-mac.h"
#include "ns3/ipv4-header.h"
#include "ns3/log.h"
#include "ns3/sta-wifi-mac.h"
#include "ns3/wifi-mac-header.h"
#include "ns3/wifi-mpdu.h"
#include "ns3/wifi-net-device.h"
#include "ns3/wifi-psdu.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeInfraMonitor");

using namespace ns3;

namespace
{
const double kNaN = std::numeric_limits<double>::quiet_NaN();

/** The smaller of the known values (NaN: unknown), NaN if neither is known. */
double
MinKnown(double a, double b)
{
    if (std::isnan(a))
    {
        return b;
    }
    return std::isnan(b) ? a : std::min(a, b);
}

/** The larger of the known values (NaN: unknown), NaN if neither is known. */
double
MaxKnown(double a, double b)
{
    if (std::isnan(a))
    {
        return b;
    }
    return std::isnan(b) ? a : std::max(a, b);
}
} // namespace

InfraMonitor::InfraMonitor(const WifiNetwork& net,
                           const std::vector<Ipv4Address>& expertIps,
                           double snrAlpha)
    : m_numWireless(net.expertDevices.GetN()),
      m_userHop(1, snrAlpha),
      m_expertHop(net.expertDevices.GetN(), snrAlpha)
{
    NS_ABORT_MSG_IF(net.apDevice.GetN() != 1, "InfraMonitor needs the access point's device");
    m_window.resize(expertIps.size());
    for (uint32_t i = 0; i < expertIps.size(); ++i)
    {
        m_byIp[expertIps[i]] = i;
    }
    auto ueDev = DynamicCast<WifiNetDevice>(net.ueDevice.Get(0));
    auto apDev = DynamicCast<WifiNetDevice>(net.apDevice.Get(0));
    m_uePhy = ueDev->GetPhy();
    m_ueMac = ueDev->GetMac();
    m_apMac = apDev->GetMac();
    m_apAddr = Mac48Address::ConvertFrom(apDev->GetAddress());

    std::vector<Ptr<WifiNetDevice>> others{apDev};
    for (uint32_t i = 0; i < m_numWireless; ++i)
    {
        auto dev = DynamicCast<WifiNetDevice>(net.expertDevices.Get(i));
        auto addr = Mac48Address::ConvertFrom(dev->GetAddress());
        m_expertAddrs.push_back(addr);
        m_byMac[addr] = i;
        others.push_back(dev);
    }
    for (const auto& dev : others)
    {
        dev->GetPhy()->TraceConnectWithoutContext("PhyTxPsduBegin",
                                                  MakeCallback(&InfraMonitor::OtherTx, this));
    }
    others.push_back(ueDev);
    for (const auto& dev : others)
    {
        dev->GetMac()->TraceConnectWithoutContext("DroppedMpdu",
                                                  MakeCallback(&InfraMonitor::MpduDropped, this));
        dev->GetMac()->TraceConnectWithoutContext("MacTxDrop",
                                                  MakeCallback(&InfraMonitor::PacketDropped, this));
    }
    m_uePhy->TraceConnectWithoutContext("PhyTxPsduBegin", MakeCallback(&InfraMonitor::UeTx, this));
    m_ueRx.ConnectRx(m_uePhy, MakeCallback(&InfraMonitor::UeRx, this));
    m_ueRx.ConnectSnr(m_uePhy, MakeCallback(&InfraMonitor::UeSnr, this));
    m_apRx.ConnectMpduSnr(apDev->GetPhy(), MakeCallback(&InfraMonitor::ApSnr, this));
}

void
InfraMonitor::SetUserIp(Ipv4Address ip)
{
    m_user.SetUserIp(ip);
}

void
InfraMonitor::BeginWindow()
{
    for (auto& w : m_window)
    {
        w = LinkWindow{};
    }
    m_userWindow = LinkWindow{};
}

const LinkWindow&
InfraMonitor::Window(uint32_t e) const
{
    return m_window.at(e);
}

bool
InfraMonitor::IsWired(uint32_t e) const
{
    return e >= m_numWireless;
}

double
InfraMonitor::WindowSnrDb(uint32_t e) const
{
    return MinKnown(m_userWindow.SnrMeanDb(), IsWired(e) ? kNaN : m_window.at(e).SnrMeanDb());
}

bool
InfraMonitor::HopUnknown(uint32_t e) const
{
    return m_user.Filtering() && !IsWired(e) && std::isnan(m_expertHop.AverageDb(e));
}

double
InfraMonitor::ObservedSnrDb(uint32_t e) const
{
    if (HopUnknown(e))
    {
        return kNaN;
    }
    return MinKnown(m_userHop.AverageDb(0), IsWired(e) ? kNaN : m_expertHop.AverageDb(e));
}

double
InfraMonitor::SecondsSinceHeard(uint32_t e) const
{
    if (HopUnknown(e))
    {
        return kNaN;
    }
    return MaxKnown(m_userHop.SecondsSinceLast(0),
                    IsWired(e) ? kNaN : m_expertHop.SecondsSinceLast(e));
}

bool
InfraMonitor::IsAssociated(uint32_t e) const
{
    auto sta = DynamicCast<StaWifiMac>(m_ueMac);
    if (!sta || !sta->IsAssociated())
    {
        return false;
    }
    auto ap = DynamicCast<ApWifiMac>(m_apMac);
    return IsWired(e) || (ap && ap->IsAssociated(m_expertAddrs.at(e)).has_value());
}

int
InfraMonitor::ExpertOfLlc(Ptr<const Packet> llcPacket) const
{
    Ipv4Header ip;
    if (!PeekIpv4OfLlc(llcPacket, ip) || !m_user.Counts(ip))
    {
        return -1; // not IPv4, or another user device's traffic
    }
    return ExpertOfIpHeader(m_byIp, ip);
}

int
InfraMonitor::ExpertOfPsdu(Ptr<const WifiPsdu> psdu, bool count)
{
    int first = -1;
    for (auto it = psdu->begin(); it != psdu->end(); ++it)
    {
        const WifiMacHeader& h = (*it)->GetHeader();
        if (!h.IsData() || IsAmsdu(h))
        {
            continue;
        }
        const int e = ExpertOfLlc((*it)->GetPacket());
        if (e < 0)
        {
            continue;
        }
        first = first < 0 ? e : first;
        if (count)
        {
            m_window[e].dataSent++;
            m_window[e].retries += h.IsRetry() ? 1 : 0;
        }
    }
    return first;
}

void
InfraMonitor::UeTx(WifiConstPsduMap psdus, WifiTxVector txVector, double /* powerW */)
{
    const Time airtime = WifiPhy::CalculateTxDuration(psdus, txVector, m_uePhy->GetPhyBand());
    int target = -1;
    for (const auto& [staId, psdu] : psdus)
    {
        const int e = ExpertOfPsdu(psdu, true);
        target = target < 0 ? e : target;
    }
    if (target >= 0)
    {
        m_lastTxTarget = target;
    }
    else
    {
        target = m_lastRxSource; // an ACK / Block Ack answers the last data received
    }
    if (target >= 0)
    {
        m_window[target].txAirtime += airtime;
    }
}

void
InfraMonitor::OtherTx(WifiConstPsduMap psdus, WifiTxVector /* txVector */, double /* powerW */)
{
    for (const auto& [staId, psdu] : psdus)
    {
        ExpertOfPsdu(psdu, true);
    }
}

void
InfraMonitor::UeRx(const WifiMacHeader& h, Ptr<Packet> body, Time duration)
{
    int e = -1;
    if (h.IsAck() || h.IsCts() || h.IsBlockAck())
    {
        e = m_lastTxTarget;
    }
    else if (h.IsData() && !IsAmsdu(h) && h.GetAddr1() != Mac48Address::GetBroadcast())
    {
        e = ExpertOfLlc(body);
        if (e >= 0)
        {
            m_lastRxSource = e;
        }
    }
    if (e >= 0)
    {
        m_window[e].rxAirtime += duration;
    }
}

void
InfraMonitor::UeSnr(Mac48Address addr2, double snrDb)
{
    if (addr2 == m_apAddr)
    {
        m_userHop.Add(0, snrDb);
        m_userWindow.AddSnr(snrDb);
    }
}

bool
InfraMonitor::ApSnr(const WifiMacHeader& h, Ptr<const Packet> body, double snrDb)
{
    auto it = m_byMac.find(h.GetAddr2());
    if (it == m_byMac.end())
    {
        return true; // not an expert's PPDU (its subframes share the transmitter)
    }
    const uint32_t e = it->second;
    if (m_user.Filtering() &&
        (!h.IsData() || IsAmsdu(h) || ExpertOfLlc(body) != static_cast<int>(e)))
    {
        return false; // not this user's exchange with the expert: maybe the next subframe
    }
    m_expertHop.Add(e, snrDb);
    m_window[e].AddSnr(snrDb);
    return true;
}

void
InfraMonitor::MpduDropped(WifiMacDropReason /* reason */, Ptr<const WifiMpdu> mpdu)
{
    if (!mpdu->GetHeader().IsData() || IsAmsdu(mpdu->GetHeader()))
    {
        return;
    }
    const int e = ExpertOfLlc(mpdu->GetPacket());
    if (e >= 0)
    {
        m_window[e].lost++;
    }
}

void
InfraMonitor::PacketDropped(Ptr<const Packet> p)
{
    const int e = ExpertOfLlc(p);
    if (e >= 0)
    {
        m_window[e].lost++;
    }
}

} // namespace netmoe
