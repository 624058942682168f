/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Low-ack teardown and deauthentication at the edge of range (see range-edge.h).
 */
#include "range-edge.h"

#include "ns3/ampdu-subframe-header.h"
#include "ns3/ap-wifi-mac.h"
#include "ns3/block-ack-manager.h"
#include "ns3/log.h"
#include "ns3/qos-txop.h"
#include "ns3/qos-utils.h"
#include "ns3/simulator.h"
#include "ns3/sta-wifi-mac.h"
#include "ns3/wifi-mac-header.h"
#include "ns3/wifi-mpdu.h"
#include "ns3/wifi-net-device.h"
#include "ns3/wifi-psdu.h"
#include "ns3/wifi-mac-queue.h"
#include "ns3/wifi-remote-station-manager.h"

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeRangeEdge");

using namespace ns3;

namespace
{
constexpr uint8_t kTids = 8;
// Time from the offending frame to the station acting on the Deauthentication: the
// frame's SIFS + Ack, then the Deauthentication after a contention slot or so.
const Time kDeauthDelay = MicroSeconds(100);
} // namespace

RangeEdge::RangeEdge(Ptr<NetDevice> ap, const NetDeviceContainer& stations, uint32_t threshold)
    : m_threshold(threshold)
{
    NS_ABORT_MSG_IF(threshold == 0, "RangeEdge: lowAckThreshold must be > 0");
    std::vector<Ptr<NetDevice>> devices{ap};
    for (uint32_t i = 0; i < stations.GetN(); ++i)
    {
        devices.push_back(stations.Get(i));
    }
    for (uint32_t d = 0; d < devices.size(); ++d)
    {
        auto dev = DynamicCast<WifiNetDevice>(devices[d]);
        NS_ABORT_MSG_IF(!dev, "RangeEdge: not a WifiNetDevice");
        Ptr<WifiMac> mac = dev->GetMac();
        m_macs.push_back(mac);
        m_addrs.push_back(Mac48Address::ConvertFrom(dev->GetAddress()));
        mac->TraceConnectWithoutContext("MpduResponseTimeout",
                                        MakeCallback(&RangeEdge::MpduTimeout, this, d));
        mac->TraceConnectWithoutContext("PsduResponseTimeout",
                                        MakeCallback(&RangeEdge::PsduTimeout, this, d));
        mac->TraceConnectWithoutContext("AckedMpdu", MakeCallback(&RangeEdge::Acked, this, d));
    }
    NS_ABORT_MSG_IF(!DynamicCast<ApWifiMac>(m_macs[0]), "RangeEdge: first device is not an AP");
    m_silent.resize(devices.size());
    m_deauthPending.assign(devices.size(), false);
    m_counts.lowAck.assign(devices.size(), 0);
    m_counts.deauth.assign(devices.size(), 0);
    DynamicCast<WifiNetDevice>(ap)->GetPhy()->TraceConnectWithoutContext(
        "MonitorSnifferRx",
        MakeCallback(&RangeEdge::ApSniffRx, this));
}

const RangeEdgeCounts&
RangeEdge::Counts() const
{
    return m_counts;
}

int
RangeEdge::StationOf(Mac48Address a) const
{
    for (uint32_t d = 1; d < m_addrs.size(); ++d)
    {
        if (m_addrs[d] == a)
        {
            return static_cast<int>(d);
        }
    }
    return -1;
}

void
RangeEdge::MpduTimeout(uint32_t device, uint8_t, Ptr<const WifiMpdu> mpdu, const WifiTxVector&)
{
    Unanswered(device, mpdu->GetHeader().GetAddr1());
}

void
RangeEdge::PsduTimeout(uint32_t device, uint8_t, Ptr<const WifiPsdu> psdu, const WifiTxVector&)
{
    Unanswered(device, psdu->GetAddr1());
}

void
RangeEdge::Acked(uint32_t device, Ptr<const WifiMpdu> mpdu)
{
    m_silent[device].erase(mpdu->GetHeader().GetAddr1());
}

void
RangeEdge::Unanswered(uint32_t device, Mac48Address peer)
{
    if (peer.IsGroup())
    {
        return;
    }
    if (++m_silent[device][peer] >= m_threshold)
    {
        m_silent[device].erase(peer);
        // After the current event: the frame exchange manager is still handling the
        // timeout that fired this trace and expects the Block Ack agreement to exist.
        Simulator::ScheduleNow(&RangeEdge::GiveUp, this, device, peer);
    }
}

void
RangeEdge::GiveUp(uint32_t device, Mac48Address peer)
{
    Ptr<WifiMac> mac = m_macs[device];
    NS_LOG_INFO(Simulator::Now().As(Time::S) << " device " << device << " gives up " << peer
                                             << " after " << m_threshold
                                             << " unanswered transmissions");
    m_counts.lowAck[device]++;
    // Block Ack agreements as originator, in any state (a pending ADDBA too): they are
    // what keeps sending BlockAckRequests. Recipient agreements stay (they send nothing
    // unsolicited, and the peer's next ADDBA replaces them).
    for (uint8_t tid = 0; tid < kTids; ++tid)
    {
        // Frames queued for the peer go too (a real device drops them with the peer's
        // station entry). Those already sent under the agreement are "in flight" and
        // would otherwise stay at the head of the queue, never sent again.
        Ptr<WifiMacQueue> queue = mac->GetTxopQueue(QosUtilsMapTidToAc(tid));
        while (Ptr<WifiMpdu> mpdu = queue->PeekByTidAndAddress(tid, peer))
        {
            queue->Remove(mpdu);
        }
        Ptr<BlockAckManager> ba = mac->GetQosTxop(tid)->GetBaManager();
        if (ba->GetAgreementAsOriginator(peer, tid))
        {
            // BARs already queued are dropped by ns-3 once the agreement is gone; the
            // "send a BAR when data is queued" list is not checked, so clear it too.
            ba->RemoveFromSendBarIfDataQueuedList(peer, tid);
            ba->DestroyOriginatorAgreement(peer, tid, std::nullopt);
        }
    }
    // The access point also disassociates the station: new packets for it are dropped
    // at the MAC until it associates again.
    if (device == 0 && StationOf(peer) > 0)
    {
        mac->GetWifiRemoteStationManager()->RecordDisassociated(peer);
    }
}

void
RangeEdge::ApSniffRx(Ptr<const Packet> p,
                     uint16_t,
                     WifiTxVector,
                     MpduInfo info,
                     SignalNoiseDbm,
                     uint16_t)
{
    Ptr<Packet> copy = p->Copy();
    if (info.type != NORMAL_MPDU)
    {
        AmpduSubframeHeader sub;
        copy->RemoveHeader(sub);
    }
    WifiMacHeader h;
    copy->PeekHeader(h);
    if (!h.IsData() || h.GetAddr1() != m_addrs[0])
    {
        return;
    }
    const int s = StationOf(h.GetAddr2());
    if (s < 0 || m_deauthPending[s])
    {
        return;
    }
    auto ap = DynamicCast<ApWifiMac>(m_macs[0]);
    auto sta = DynamicCast<StaWifiMac>(m_macs[s]);
    if (!ap->IsAssociated(h.GetAddr2()).has_value() && sta->IsAssociated())
    {
        m_deauthPending[s] = true;
        Simulator::Schedule(kDeauthDelay, &RangeEdge::Deauthenticate, this, s);
    }
}

void
RangeEdge::Deauthenticate(uint32_t station)
{
    m_deauthPending[station] = false;
    auto sta = DynamicCast<StaWifiMac>(m_macs[station]);
    if (!sta->IsAssociated() || DynamicCast<ApWifiMac>(m_macs[0])->IsAssociated(m_addrs[station]))
    {
        return; // repaired meanwhile
    }
    NS_LOG_INFO(Simulator::Now().As(Time::S) << " deauthenticating station " << station);
    m_counts.deauth[station]++;
    m_silent[station].clear();
    sta->NotifyChannelSwitching(0);
}

} // namespace netmoe
