/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Per-expert measurements of an infrastructure BSS (see infra-monitor.h).
 */
#include "infra-monitor.h"

#include "ns3/ampdu-subframe-header.h"
#include "ns3/ap-wifi-mac.h"
#include "ns3/ipv4-header.h"
#include "ns3/llc-snap-header.h"
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

/** An A-MSDU: several LLC packets in one MPDU, not parsed here (ns-3 sends none by default). */
bool
IsAmsdu(const WifiMacHeader& h)
{
    return h.IsQosData() && h.IsQosAmsdu();
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
    m_uePhy->TraceConnectWithoutContext("PhyRxBegin", MakeCallback(&InfraMonitor::UeRxBegin, this));
    m_uePhy->TraceConnectWithoutContext("PhyRxPayloadBegin",
                                        MakeCallback(&InfraMonitor::UeRxPayloadBegin, this));
    m_uePhy->TraceConnectWithoutContext("MonitorSnifferRx",
                                        MakeCallback(&InfraMonitor::UeSniffRx, this));
    apDev->GetPhy()->TraceConnectWithoutContext("MonitorSnifferRx",
                                                MakeCallback(&InfraMonitor::ApSniffRx, this));
}

void
InfraMonitor::SetUserIp(Ipv4Address ip)
{
    m_filterUser = true;
    m_userIp = ip;
}

void
InfraMonitor::BeginWindow()
{
    for (auto& w : m_window)
    {
        w = LinkWindow{};
    }
    m_userSumDb = 0;
    m_userSamples = 0;
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
    const double user = m_userSamples > 0 ? m_userSumDb / m_userSamples : kNaN;
    const LinkWindow& w = m_window.at(e);
    const double own = !IsWired(e) && w.snrSamples > 0 ? w.snrSumDb / w.snrSamples : kNaN;
    return MinKnown(user, own);
}

double
InfraMonitor::ObservedSnrDb(uint32_t e) const
{
    return MinKnown(m_userHop.AverageDb(0), IsWired(e) ? kNaN : m_expertHop.AverageDb(e));
}

double
InfraMonitor::SecondsSinceHeard(uint32_t e) const
{
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
    Ptr<Packet> copy = llcPacket->Copy();
    LlcSnapHeader llc;
    if (copy->GetSize() < llc.GetSerializedSize() + 20)
    {
        return -1;
    }
    copy->RemoveHeader(llc);
    if (llc.GetType() != 0x0800)
    {
        return -1;
    }
    Ipv4Header ip;
    copy->PeekHeader(ip);
    if (m_filterUser && ip.GetSource() != m_userIp && ip.GetDestination() != m_userIp)
    {
        return -1; // another user device's traffic
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
InfraMonitor::UeRxBegin(Ptr<const Packet> p, RxPowerWattPerChannelBand /* powers */)
{
    m_rxPacket = p;
}

void
InfraMonitor::UeRxPayloadBegin(WifiTxVector /* txVector */, Time duration)
{
    if (!m_rxPacket)
    {
        return;
    }
    Ptr<Packet> copy = m_rxPacket->Copy();
    m_rxPacket = nullptr;
    if (copy->GetSize() < 14)
    {
        return;
    }
    uint8_t first[4];
    copy->CopyData(first, 4);
    if (first[3] == 0x4E) // an A-MPDU subframe header (see LinkMonitor::UeRxPayloadBegin)
    {
        AmpduSubframeHeader sub;
        copy->RemoveHeader(sub);
    }
    WifiMacHeader h;
    copy->RemoveHeader(h);
    int e = -1;
    if (h.IsAck() || h.IsCts() || h.IsBlockAck())
    {
        e = m_lastTxTarget;
    }
    else if (h.IsData() && !IsAmsdu(h) && h.GetAddr1() != Mac48Address::GetBroadcast())
    {
        e = ExpertOfLlc(copy);
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

bool
InfraMonitor::SniffedAddr2(Ptr<const Packet> p,
                           const MpduInfo& info,
                           Sniffed& state,
                           Mac48Address& addr2) const
{
    Ptr<Packet> copy = p->Copy();
    if (info.type != NORMAL_MPDU)
    {
        if (state.sampled && info.mpduRefNumber == state.lastAmpduRef)
        {
            return false;
        }
        AmpduSubframeHeader sub;
        copy->RemoveHeader(sub);
    }
    WifiMacHeader h;
    copy->PeekHeader(h);
    if (h.IsAck() || h.IsCts())
    {
        return false; // no transmitter address
    }
    if (info.type != NORMAL_MPDU)
    {
        state.lastAmpduRef = info.mpduRefNumber;
        state.sampled = true;
    }
    addr2 = h.GetAddr2();
    return true;
}

void
InfraMonitor::UeSniffRx(Ptr<const Packet> p,
                        uint16_t /* freqMhz */,
                        WifiTxVector /* txVector */,
                        MpduInfo info,
                        SignalNoiseDbm sn,
                        uint16_t /* staId */)
{
    Mac48Address addr2;
    if (SniffedAddr2(p, info, m_ueSniffed, addr2) && addr2 == m_apAddr)
    {
        const double snr = sn.signal - sn.noise;
        m_userHop.Add(0, snr);
        m_userSumDb += snr;
        m_userSamples++;
    }
}

void
InfraMonitor::ApSniffRx(Ptr<const Packet> p,
                        uint16_t /* freqMhz */,
                        WifiTxVector /* txVector */,
                        MpduInfo info,
                        SignalNoiseDbm sn,
                        uint16_t /* staId */)
{
    Mac48Address addr2;
    if (!SniffedAddr2(p, info, m_apSniffed, addr2))
    {
        return;
    }
    auto it = m_byMac.find(addr2);
    if (it != m_byMac.end())
    {
        const double snr = sn.signal - sn.noise;
        m_expertHop.Add(it->second, snr);
        m_window[it->second].snrSumDb += snr;
        m_window[it->second].snrSamples++;
    }
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
