/* SPDX-License-Identifier: GPL-2.0-only
 *
 * What a received Wi-Fi frame tells the edge-moe monitors (see wifi-rx-parser.h).
 */
#include "wifi-rx-parser.h"

#include "ns3/ampdu-subframe-header.h"
#include "ns3/llc-snap-header.h"
#include "ns3/log.h"

#include <limits>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeWifiRxParser");

using namespace ns3;

void
LinkWindow::AddSnr(double db)
{
    snrSumDb += db;
    snrSamples++;
}

double
LinkWindow::SnrMeanDb() const
{
    return snrSamples > 0 ? snrSumDb / snrSamples : std::numeric_limits<double>::quiet_NaN();
}

bool
PeekIpv4OfLlc(Ptr<const Packet> llcPacket, Ipv4Header& ip)
{
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
    copy->PeekHeader(ip);
    return true;
}

bool
IsAmsdu(const WifiMacHeader& h)
{
    return h.IsQosData() && h.IsQosAmsdu(); // ns-3 asserts IsQosData before IsQosAmsdu
}

void
UserTraffic::SetUserIp(Ipv4Address ip)
{
    m_filter = true;
    m_userIp = ip;
}

bool
UserTraffic::Filtering() const
{
    return m_filter;
}

bool
UserTraffic::Counts(const Ipv4Header& ip) const
{
    return !m_filter || ip.GetSource() == m_userIp || ip.GetDestination() == m_userIp;
}

void
WifiRxParser::ConnectSnr(Ptr<WifiPhy> phy, SnrCallback snr)
{
    m_snr = snr;
    phy->TraceConnectWithoutContext("MonitorSnifferRx",
                                    MakeCallback(&WifiRxParser::SniffRx, this));
}

void
WifiRxParser::ConnectMpduSnr(Ptr<WifiPhy> phy, MpduSnrCallback snr)
{
    m_mpduSnr = snr;
    phy->TraceConnectWithoutContext("MonitorSnifferRx",
                                    MakeCallback(&WifiRxParser::SniffRx, this));
}

void
WifiRxParser::ConnectRx(Ptr<WifiPhy> phy, RxCallback rx)
{
    m_rx = rx;
    phy->TraceConnectWithoutContext("PhyRxBegin", MakeCallback(&WifiRxParser::RxBegin, this));
    phy->TraceConnectWithoutContext("PhyRxPayloadBegin",
                                    MakeCallback(&WifiRxParser::RxPayloadBegin, this));
}

void
WifiRxParser::SniffRx(Ptr<const Packet> p,
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
    const double snrDb = sn.signal - sn.noise;
    if (!m_mpduSnr.IsNull())
    {
        copy->RemoveHeader(h);
        if (!m_mpduSnr(h, copy, snrDb))
        {
            return; // not taken: the A-MPDU's next subframe is offered
        }
    }
    if (info.type != NORMAL_MPDU)
    {
        m_lastAmpduRef = info.mpduRefNumber;
        m_ampduSampled = true;
    }
    if (!m_snr.IsNull())
    {
        m_snr(h.GetAddr2(), snrDb);
    }
}

void
WifiRxParser::RxBegin(Ptr<const Packet> p, RxPowerWattPerChannelBand /* powers */)
{
    m_rxPacket = p;
}

void
WifiRxParser::RxPayloadBegin(WifiTxVector /* txVector */, Time duration)
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
    copy->RemoveHeader(h);
    NS_LOG_DEBUG("rx " << h.GetTypeString() << " for " << duration.As(Time::US));
    m_rx(h, copy, duration);
}

} // namespace netmoe
