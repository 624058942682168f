/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Per-expert link measurements from ns-3 traces (see link-monitor.h).
 */
#include "link-monitor.h"

#include "ns3/ap-wifi-mac.h"
#include "ns3/ipv4-header.h"
#include "ns3/log.h"
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
    m_ueRx.ConnectRx(m_uePhy, MakeCallback(&LinkMonitor::UeRx, this));
    m_ueRx.ConnectSnr(m_uePhy, MakeCallback(&LinkMonitor::UeSnr, this));
    m_ueMac->TraceConnectWithoutContext("DroppedMpdu", MakeCallback(&LinkMonitor::MpduDropped, this));
    m_ueMac->TraceConnectWithoutContext("MacTxDrop", MakeCallback(&LinkMonitor::PacketDropped, this));
}

void
LinkMonitor::SetUserIp(Ipv4Address ip)
{
    m_user.SetUserIp(ip);
}

bool
LinkMonitor::Counts(Ptr<const Packet> llcPacket) const
{
    if (!m_user.Filtering())
    {
        return true; // frames are matched by MAC address: IPv4 or not
    }
    Ipv4Header ip;
    return PeekIpv4OfLlc(llcPacket, ip) && m_user.Counts(ip);
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
LinkMonitor::WindowSnrDb(uint32_t e) const
{
    return m_window.at(e).SnrMeanDb();
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
    Ipv4Header ip;
    return PeekIpv4OfLlc(llcPacket, ip) ? ExpertOfIpHeader(m_byIp, ip) : -1;
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
LinkMonitor::UeRx(const WifiMacHeader& h, Ptr<Packet> /* body */, Time duration)
{
    int e = (h.IsAck() || h.IsCts()) ? m_lastTxTarget : ExpertOf(h.GetAddr2());
    NS_LOG_DEBUG("rx " << h.GetTypeString() << " from expert " << e << " for "
                       << duration.As(Time::US));
    if (e >= 0)
    {
        m_window[e].rxAirtime += duration;
    }
}

void
LinkMonitor::UeSnr(Mac48Address addr2, double snrDb)
{
    const int e = ExpertOf(addr2);
    if (e < 0)
    {
        NS_LOG_DEBUG("sniffed frame from unknown transmitter " << addr2);
        return;
    }
    m_window[e].AddSnr(snrDb);
    m_signal.Add(e, snrDb);
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
