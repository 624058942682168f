/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Low-ack disassociation and deauthentication at the edge of range (see range-edge.h).
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
#include "ns3/wifi-mac-queue.h"
#include "ns3/wifi-mpdu.h"
#include "ns3/wifi-net-device.h"
#include "ns3/wifi-psdu.h"
#include "ns3/wifi-remote-station-manager.h"

#include <map>

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

/**
 * The access point's station list, as ns-3's ApWifiMac updates it when it receives a
 * Disassociation frame. RangeEdge applies the disassociation without the frame, so it
 * drops the entry itself: otherwise each re-association adds one under a new AID, and the
 * list (which every beacon walks) grew by one entry per low-ack disassociation for the whole
 * run (hundreds over 2,000 tasks on the default layout). The list and the AID map are
 * protected members; a pointer to member formed through this derived class reaches them.
 */
struct ApStationList : public ApWifiMac
{
    /**
     * Remove \p sta from \p ap's station list on every link and free its AID, except the
     * entry under \p keep (the AID it has just associated with; 0: none).
     */
    static void Forget(ApWifiMac& ap, Mac48Address sta, uint16_t keep = 0)
    {
        const auto getLink = &ApStationList::GetLink;
        const auto aids = &ApStationList::m_aidToMldOrLinkAddress;
        for (uint8_t linkId = 0; linkId < ap.GetNLinks(); ++linkId)
        {
            auto& link = (ap.*getLink)(linkId);
            auto manager = ap.GetWifiRemoteStationManager(linkId);
            for (auto it = link.staList.begin(); it != link.staList.end();)
            {
                if (it->second != sta || it->first == keep)
                {
                    ++it;
                    continue;
                }
                it = link.staList.erase(it);
                // the counts ApWifiMac keeps with the list (as on a Disassociation frame)
                if (manager->GetDsssSupported(sta) && !manager->GetErpOfdmSupported(sta) &&
                    link.numNonErpStations > 0)
                {
                    link.numNonErpStations--;
                }
                if (!manager->GetHtSupported(sta) && !manager->GetStationHe6GhzCapabilities(sta) &&
                    link.numNonHtStations > 0)
                {
                    link.numNonHtStations--;
                }
            }
        }
        std::erase_if(ap.*aids, [&sta, keep](const auto& entry) {
            return entry.second == sta && entry.first != keep;
        });
    }
};
} // namespace

RangeEdge::RangeEdge(Ptr<NetDevice> ap, const NetDeviceContainer& stations, uint32_t threshold)
    : m_threshold(threshold)
{
    NS_ABORT_MSG_IF(threshold == 0, "RangeEdge: lowAckThreshold must be > 0");
    auto apDev = DynamicCast<WifiNetDevice>(ap);
    NS_ABORT_MSG_IF(!apDev || !DynamicCast<ApWifiMac>(apDev->GetMac()),
                    "RangeEdge: the first device is not a Wi-Fi access point");
    m_ap = apDev->GetMac();
    for (uint32_t i = 0; i < stations.GetN(); ++i)
    {
        auto dev = DynamicCast<WifiNetDevice>(stations.Get(i));
        NS_ABORT_MSG_IF(!dev || !DynamicCast<StaWifiMac>(dev->GetMac()),
                        "RangeEdge: device " << i << " is not a Wi-Fi station");
        m_stations.push_back(dev->GetMac());
        m_addrs.push_back(Mac48Address::ConvertFrom(dev->GetAddress()));
    }
    const size_t n = m_stations.size();
    m_silent.assign(n, 0);
    m_deauthPending.assign(n, false);
    m_counts.disassociated.assign(n, 0);
    m_counts.deauthenticated.assign(n, 0);

    m_ap->TraceConnectWithoutContext("MpduResponseTimeout",
                                     MakeCallback(&RangeEdge::MpduTimeout, this));
    m_ap->TraceConnectWithoutContext("PsduResponseTimeout",
                                     MakeCallback(&RangeEdge::PsduTimeout, this));
    m_ap->TraceConnectWithoutContext("AckedMpdu", MakeCallback(&RangeEdge::Acked, this));
    m_ap->TraceConnectWithoutContext("AssociatedSta", MakeCallback(&RangeEdge::Associated, this));
    apDev->GetPhy()->TraceConnectWithoutContext("MonitorSnifferRx",
                                                MakeCallback(&RangeEdge::ApSniffRx, this));
}

const RangeEdgeCounts&
RangeEdge::Counts() const
{
    return m_counts;
}

void
RangeEdge::SetDisassociatedCallback(Callback<void, uint32_t> cb)
{
    m_disassociated = cb;
}

int
RangeEdge::StationOf(Mac48Address a) const
{
    for (uint32_t i = 0; i < m_addrs.size(); ++i)
    {
        if (m_addrs[i] == a)
        {
            return static_cast<int>(i);
        }
    }
    return -1;
}

void
RangeEdge::MpduTimeout(uint8_t, Ptr<const WifiMpdu> mpdu, const WifiTxVector&)
{
    Unanswered(mpdu->GetHeader().GetAddr1());
}

void
RangeEdge::PsduTimeout(uint8_t, Ptr<const WifiPsdu> psdu, const WifiTxVector&)
{
    Unanswered(psdu->GetAddr1());
}

void
RangeEdge::Acked(Ptr<const WifiMpdu> mpdu)
{
    if (const int s = StationOf(mpdu->GetHeader().GetAddr1()); s >= 0)
    {
        m_silent[s] = 0;
    }
}

void
RangeEdge::Associated(uint16_t aid, Mac48Address station)
{
    // A station that re-associates by ns-3's own path (it missed ten beacons) may get a new
    // AID while its old entry stays; keep one entry a station.
    ApStationList::Forget(*DynamicCast<ApWifiMac>(m_ap), station, aid);
}

void
RangeEdge::Unanswered(Mac48Address station)
{
    const int s = StationOf(station);
    if (s < 0 || ++m_silent[s] < m_threshold)
    {
        return;
    }
    m_silent[s] = 0;
    // After the current event: the frame exchange manager is still handling the
    // timeout that fired this trace and expects the Block Ack agreement to exist.
    Simulator::ScheduleNow(&RangeEdge::Disassociate, this, s);
}

void
RangeEdge::Disassociate(uint32_t s)
{
    const Mac48Address peer = m_addrs[s];
    NS_LOG_INFO(Simulator::Now().As(Time::S) << " low-ack disassociation of station " << s + 1);
    m_counts.disassociated[s]++;
    for (uint8_t tid = 0; tid < kTids; ++tid)
    {
        // Frames queued for the station go (hostapd drops them with the station entry).
        // Those sent under a Block Ack agreement are "in flight" and would otherwise
        // stay at the head of the queue, never sent again, and stall the queue.
        Ptr<WifiMacQueue> queue = m_ap->GetTxopQueue(QosUtilsMapTidToAc(tid));
        while (Ptr<WifiMpdu> mpdu = queue->PeekByTidAndAddress(tid, peer))
        {
            queue->Remove(mpdu);
        }
        // The agreement, in any state (a pending ADDBA too), is what keeps sending
        // BlockAckRequests. Queued BARs are dropped by ns-3 once it is gone; the "send
        // a BAR when data is queued" list is not checked, so it is cleared here.
        Ptr<BlockAckManager> ba = m_ap->GetQosTxop(tid)->GetBaManager();
        if (ba->GetAgreementAsOriginator(peer, tid))
        {
            ba->RemoveFromSendBarIfDataQueuedList(peer, tid);
            ba->DestroyOriginatorAgreement(peer, tid, std::nullopt);
        }
    }
    // New packets for the station are now dropped at the access point's MAC.
    m_ap->GetWifiRemoteStationManager()->RecordDisassociated(peer);
    ApStationList::Forget(*DynamicCast<ApWifiMac>(m_ap), peer);
    if (!m_disassociated.IsNull())
    {
        m_disassociated(s);
    }
}

void
RangeEdge::ApSniffRx(Ptr<const Packet> p, uint16_t, WifiTxVector, MpduInfo info, SignalNoiseDbm,
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
    if (!h.IsData() || h.GetAddr1() != Mac48Address::ConvertFrom(m_ap->GetAddress()))
    {
        return;
    }
    const int s = StationOf(h.GetAddr2());
    if (s < 0 || m_deauthPending[s])
    {
        return;
    }
    auto ap = DynamicCast<ApWifiMac>(m_ap);
    auto sta = DynamicCast<StaWifiMac>(m_stations[s]);
    if (!ap->IsAssociated(m_addrs[s]).has_value() && sta->IsAssociated())
    {
        m_deauthPending[s] = true;
        Simulator::Schedule(kDeauthDelay, &RangeEdge::Deauthenticate, this, s);
    }
}

void
RangeEdge::Deauthenticate(uint32_t s)
{
    m_deauthPending[s] = false;
    auto sta = DynamicCast<StaWifiMac>(m_stations[s]);
    if (!sta->IsAssociated() || DynamicCast<ApWifiMac>(m_ap)->IsAssociated(m_addrs[s]))
    {
        return; // repaired meanwhile
    }
    NS_LOG_INFO(Simulator::Now().As(Time::S) << " deauthenticating station " << s + 1);
    m_counts.deauthenticated[s]++;
    // ns-3's own "no access point found, scan again" step: the station leaves the
    // associated state and associates afresh, keeping what it knows of the access
    // point (capabilities, rate control) and its ARP entries (no link-down).
    sta->ScanningTimeout(std::nullopt);
}

} // namespace netmoe
