/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Per-expert link measurements from ns-3 traces (see link-monitor.h).
 */
#include "link-monitor.h"

#include "ns3/ampdu-subframe-header.h"
#include "ns3/ap-wifi-mac.h"
#include "ns3/ipv4-header.h"
#include "ns3/llc-snap-header.h"
#include "ns3/log.h"
#include "ns3/simulator.h"
#include "ns3/wifi-mac-header.h"
#include "ns3/wifi-mpdu.h"
#include "ns3/wifi-net-device.h"
#include "ns3/wifi-psdu.h"


namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeLinkMonitor");

using namespace ns3;

LinkMonitor::LinkMonitor(const WifiNetwork& net,
                         const std::vector<Ipv4Address>& expertIps,
                         double snrAlpha)
    : m_signal(net.expertDevices.GetN(), snrAlpha)
{
    const uint32_t n = net.expertDevices.GetN();
    auto ueDev = DynamicCast<WifiNetDevice>(net.ueDevice.Get(0));
    m_uePhy = ueDev->GetPhy();
    m_ueMac = ueDev->GetMac();
    m_ueAddr = Mac48Address::ConvertFrom(ueDev->GetAddress());
    m_window.resize(n);
    for (uint32_t i = 0; i < n; ++i)
    {
        auto dev = DynamicCast<WifiNetDevice>(net.expertDevices.Get(i));
        auto addr = Mac48Address::ConvertFrom(dev->GetAddress());
        m_expertAddrs.push_back(addr);
        m_byMac[addr] = i;
        m_byIp[expertIps.at(i)] = i;
        dev->GetPhy()->TraceConnectWithoutContext("PhyTxPsduBegin",
                                                  MakeCallback(&LinkMonitor::ExpertTx, this));
        dev->GetMac()->TraceConnectWithoutContext("DroppedMpdu",
                                                  MakeCallback(&LinkMonitor::MpduDropped, this));
        dev->GetMac()->TraceConnectWithoutContext("MacTxDrop",
                                                  MakeCallback(&LinkMonitor::PacketDropped, this));
    }
    m_uePhy->TraceConnectWithoutContext("PhyTxPsduBegin", MakeCallback(&LinkMonitor::UeTx, this));
    m_uePhy->TraceConnectWithoutContext("PhyRxBegin", MakeCallback(&LinkMonitor::UeRxBegin, this));
    m_uePhy->TraceConnectWithoutContext("PhyRxPayloadBegin",
                                        MakeCallback(&LinkMonitor::UeRxPayloadBegin, this));
    m_uePhy->TraceConnectWithoutContext("MonitorSnifferRx",
                                        MakeCallback(&LinkMonitor::UeSniffRx, this));
    m_ueMac->TraceConnectWithoutContext("DroppedMpdu", MakeCallback(&LinkMonitor::MpduDropped, this));
    m_ueMac->TraceConnectWithoutContext("MacTxDrop", MakeCallback(&LinkMonitor::PacketDropped, this));
}

void
LinkMonitor::SetUserIp(Ipv4Address ip)
{
    m_filterUser = true;
    m_userIp = ip;
}

bool
LinkMonitor::Counts(Ptr<const Packet> llcPacket) const
{
    if (!m_filterUser)
    {
        return true;
    }
    Ptr<Packet> copy = llcPacket->Copy();
    LlcSnapHeader llc;
    if (copy->GetSize() < llc.GetSerializedSize() + 20)
    {
        return false;
    }
    copy->RemoveHeader(llc);
    if (llc.GetType() != 0x0800)
    {
        return false;
    }
    Ipv4Header ip;
    copy->PeekHeader(ip);
    return ip.GetSource() == m_userIp || ip.GetDestination() == m_userIp;
}

void
LinkMonitor::BeginWindow()
{
    for (auto& w : m_window)
    {
        w = LinkWindow{};
    }
}

const LinkWindow&
LinkMonitor::Window(uint32_t e) const
{
    return m_window.at(e);
}

double
LinkMonitor::ObservedSnrDb(uint32_t e) const
{
    return m_signal.AverageDb(e);
}

double
LinkMonitor::SecondsSinceHeard(uint32_t e) const
{
    return m_signal.SecondsSinceLast(e);
}

bool
LinkMonitor::IsAssociated(uint32_t e) const
{
    auto ap = DynamicCast<ApWifiMac>(m_ueMac);
    return ap && ap->IsAssociated(m_expertAddrs.at(e)).has_value();
}

int
LinkMonitor::ExpertOf(Mac48Address a) const
{
    auto it = m_byMac.find(a);
    return it == m_byMac.end() ? -1 : static_cast<int>(it->second);
}

int
LinkMonitor::ExpertOfIp(Ptr<const Packet> llcPacket) const
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
    return ExpertOfIpHeader(m_byIp, ip);
}

void
LinkMonitor::CountPsdu(Ptr<const WifiPsdu> psdu)
{
    for (auto it = psdu->begin(); it != psdu->end(); ++it)
    {
        const WifiMacHeader& h = (*it)->GetHeader();
        if (!h.IsData() || !Counts((*it)->GetPacket()))
        {
            continue;
        }
        int e = -1;
        if (h.GetAddr2() == m_ueAddr)
        {
            e = ExpertOf(h.GetAddr1());
        }
        else if (h.GetAddr1() == m_ueAddr)
        {
            e = ExpertOf(h.GetAddr2());
        }
        if (e < 0)
        {
            continue;
        }
        m_window[e].dataSent++;
        if (h.IsRetry())
        {
            m_window[e].retries++;
        }
    }
}

void
LinkMonitor::UeTx(WifiConstPsduMap psdus, WifiTxVector txVector, double /* powerW */)
{
    const Time airtime = WifiPhy::CalculateTxDuration(psdus, txVector, m_uePhy->GetPhyBand());
    int target = -1;
    for (const auto& [staId, psdu] : psdus)
    {
        CountPsdu(psdu);
        if (target < 0)
        {
            target = ExpertOf(psdu->GetAddr1());
        }
    }
    m_lastTxTarget = target;
    if (target >= 0)
    {
        m_window[target].txAirtime += airtime;
    }
}

void
LinkMonitor::ExpertTx(WifiConstPsduMap psdus, WifiTxVector /* txVector */, double /* powerW */)
{
    for (const auto& [staId, psdu] : psdus)
    {
        CountPsdu(psdu);
    }
}

void
LinkMonitor::UeRxBegin(Ptr<const Packet> p, RxPowerWattPerChannelBand /* powers */)
{
    m_rxPacket = p;
}

void
LinkMonitor::UeRxPayloadBegin(WifiTxVector /* txVector */, Time duration)
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
    // ns-3.44 hands PhyRxBegin the first MPDU without an A-MPDU subframe header; other
    // versions may include one. Its 4th byte is the signature 0x4E ('N'), where a MAC
    // header has the high byte of Duration/ID (0x4E would mean a ~20 ms NAV: never).
    uint8_t first[4];
    copy->CopyData(first, 4);
    if (first[3] == 0x4E)
    {
        AmpduSubframeHeader sub;
        copy->RemoveHeader(sub);
    }
    WifiMacHeader h;
    copy->PeekHeader(h);
    int e = (h.IsAck() || h.IsCts()) ? m_lastTxTarget : ExpertOf(h.GetAddr2());
    NS_LOG_DEBUG("rx " << h.GetTypeString() << " from expert " << e << " for "
                       << duration.As(Time::US));
    if (e >= 0)
    {
        m_window[e].rxAirtime += duration;
    }
}

void
LinkMonitor::UeSniffRx(Ptr<const Packet> p,
                       uint16_t /* freqMhz */,
                       WifiTxVector /* txVector */,
                       MpduInfo info,
                       SignalNoiseDbm sn,
                       uint16_t /* staId */)
{
    Ptr<Packet> copy = p->Copy();
    if (info.type != NORMAL_MPDU)
    {
        // One sample per A-MPDU: its subframes share the reference number and the SNR.
        if (m_ampduSampled && info.mpduRefNumber == m_lastAmpduRef)
        {
            return;
        }
        AmpduSubframeHeader sub;
        copy->RemoveHeader(sub);
    }
    WifiMacHeader h;
    copy->PeekHeader(h);
    if (h.IsAck() || h.IsCts())
    {
        return; // no transmitter address
    }
    const int e = ExpertOf(h.GetAddr2());
    if (e < 0)
    {
        NS_LOG_DEBUG("sniffed frame from unknown transmitter " << h.GetAddr2() << " type "
                                                               << h.GetTypeString());
        return;
    }
    if (info.type != NORMAL_MPDU)
    {
        m_lastAmpduRef = info.mpduRefNumber;
        m_ampduSampled = true;
    }
    const double snr = sn.signal - sn.noise;
    m_window[e].snrSumDb += snr;
    m_window[e].snrSamples++;
    m_signal.Add(e, snr);
}

void
LinkMonitor::MpduDropped(WifiMacDropReason /* reason */, Ptr<const WifiMpdu> mpdu)
{
    const WifiMacHeader& h = mpdu->GetHeader();
    if (!h.IsData() || !Counts(mpdu->GetPacket()))
    {
        return;
    }
    int e = h.GetAddr2() == m_ueAddr ? ExpertOf(h.GetAddr1()) : ExpertOf(h.GetAddr2());
    if (e >= 0)
    {
        m_window[e].lost++;
    }
}

void
LinkMonitor::PacketDropped(Ptr<const Packet> p)
{
    int e = Counts(p) ? ExpertOfIp(p) : -1;
    if (e >= 0)
    {
        m_window[e].lost++;
    }
}

} // namespace netmoe
