/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Probes: what a device does when it needs fresh link state before a decision and has not
 * heard an expert lately. The user device (the access point) sends ONE discovery query: a
 * small UDP datagram to the subnet's broadcast address, as an mDNS or SSDP query goes to
 * a group address. The access point sends a group-addressed frame once, at a basic rate,
 * and nobody acknowledges it, so a stale rate choice cannot make it fail again and again
 * and it never counts towards the low-ack disassociation (range-edge.h). Every expert that
 * believes it is associated answers by unicast UDP to the user device after a random
 * delay, uniform in [0, --probeJitter] (RFC 6762, section 6: responders to a multicast
 * query delay their answers so that they do not collide), if the query asks for it: the
 * query lists the experts it wants to hear (a bitmap), as an mDNS query lists the answers
 * it already knows so that their owners stay quiet (RFC 6762, section 7.1). A query can be
 * lost (no acknowledgement, no retry) and so can an answer: the user device repeats the
 * query to the experts still missing (Requery), as an mDNS querier repeats a query that got
 * no answer. Each answer is --probeAnswers uplink frames 1 ms apart (separate
 * transmissions, so that each sees its own fading, as a device that measures a link
 * sounds it several times); each gives the link monitor a fresh signal sample, as any
 * frame from the expert does;
 * an expert the access point dropped answers too, is deauthenticated on that frame and
 * associates again (range-edge.h), as it would on its own traffic.
 *
 * Repair. An expert the access point dropped (the low-ack disassociation) does not know it,
 * and while it only waits for request bytes it sends nothing, so nothing tells it either:
 * a heartbeat would, within one interval. The user device is the access point and knows
 * whom it dropped (hostapd reports AP-STA-DISCONNECTED to the programs on the device), so
 * it asks (Ask: a query that awaits nothing) every expert it does not count associated:
 * during a task, those the task waits for, at its launch and at once when one is dropped,
 * then after --probeLead (with several users: the tasks of any user, at each user's launch;
 * user 0 relays the others' requests); in a gap, at its start, then after --probeMaxAge
 * (one heartbeat period). While one is still out it asks again at intervals that double
 * up to --probeRepairMax but never below the first one, as an mDNS querier spaces its
 * repeated queries (RFC 6762, section 5.2). With the defaults (0.08 s) a task asks at 0,
 * 0.02, 0.06, 0.14 s, ... (12.5 a second, not 50, while an expert stays out) and a gap
 * every 0.1 s as before; an expert back in range is asked within 0.1 s, well inside TCP's
 * 1 s retransmission timeout, which is what brings its reply through. The answer gets the
 * expert deauthenticated and associated again (range-edge.h), and TCP's retransmissions
 * then get through. Otherwise nothing is sent between decisions: the device learns from
 * the task traffic it hears.
 *
 * Several users (--numUsers > 1): users 1..M-1 are stations of user 0's hotspot. User 0
 * probes before each round as above; the others learn from their own exchanges with the
 * experts, as with heartbeats (which go to user 0 only): switching the mode changes what
 * the experts send, not who hears it.
 *
 * ObserveConfig holds the observation flags shared by every scenario program:
 *   --observe=probe|heartbeat  on-demand probes, or the continuous 10 Hz (the default)
 *                              heartbeats (edge-moe; edge-moe-lte sends neither: the
 *                              cell's periodic reports are its observation)
 *   --probeMaxAge              query when an associated expert's last sample would be older
 *                              than this at the decision instant
 *   --probeLead                the query leaves this long before the decision instant
 *   --probeJitter              an answer waits uniform [0, this] before it is sent
 *   --probeAnswers             frames per answer, kAnswerSpacingS apart
 *   --probeRepairMax           repair queries repeat at doubling intervals up to this
 */
#ifndef NETMOE_PROBES_H
#define NETMOE_PROBES_H

#include "netmoe/scenario-defaults.h"

#include "ns3/callback.h"
#include "ns3/event-id.h"
#include "ns3/ipv4-address.h"
#include "ns3/node-container.h"
#include "ns3/random-variable-stream.h"
#include "ns3/socket.h"

#include <algorithm>
#include <string>
#include <vector>

namespace netmoe
{

/** Seconds between the frames of one answer (ns-3 would send frames queued together as one
 * aggregate, with one fading draw). */
inline constexpr double kAnswerSpacingS = defaults::probeAnswerSpacing;

/** The observation flags (--observe, --probeMaxAge, --probeLead, --probeJitter,
 * --probeAnswers). */
struct ObserveConfig
{
    std::string mode{defaults::observe};       //!< "probe" or "heartbeat"
    double probeMaxAge{defaults::probeMaxAge}; //!< s: query when a sample would be older
    double probeLead{defaults::probeLead};     //!< s: the query leaves this long before a decision
    double probeJitter{defaults::probeJitter}; //!< s: an answer's delay is uniform [0, this]
    uint32_t probeAnswers{defaults::probeAnswers}; //!< frames per answer
    double probeRepairMax{defaults::probeRepairMax}; //!< s: longest repair interval (0: fixed)

    /** The repair interval after \p interval: doubled, at most --probeRepairMax (kept as it
     * is when that is 0, the fixed cadence). */
    double NextRepairInterval(double interval) const
    {
        return probeRepairMax > 0 ? std::max(interval, std::min(2 * interval, probeRepairMax))
                                  : interval;
    }

    /** Seconds from an answer's first frame to its last. */
    double AnswerSpread() const
    {
        return (probeAnswers - 1) * kAnswerSpacingS;
    }

    /** Whether the user device probes before its decisions. */
    bool Probing() const
    {
        return mode == "probe";
    }
};

/** One broadcast query from the user device; jittered unicast answers from the experts. */
class Probes
{
  public:
    /**
     * Install the responders (experts) and the user device's socket.
     * \param broadcast the subnet's broadcast address (where the query goes)
     * \param expertIps expert i's IPv4 address at index i-1
     * \param port UDP port of the responders
     * \param jitter an answer is sent after a delay uniform in [0, jitter]
     * \param frames frames per answer, kAnswerSpacingS apart
     */
    Probes(ns3::Ptr<ns3::Node> ue,
           ns3::Ipv4Address broadcast,
           const ns3::NodeContainer& experts,
           const std::vector<ns3::Ipv4Address>& expertIps,
           uint16_t port,
           ns3::Time jitter,
           uint32_t frames);

    /**
     * Send one query now asking the experts with \p asked[e] set to answer, and wait for the
     * answers of those with \p awaited[e] set (a subset: those that can reach the user
     * device).
     */
    void Query(const std::vector<bool>& asked, const std::vector<bool>& awaited);
    /**
     * Send one query now asking the experts with \p asked[e] set to answer, awaiting
     * nothing (a repair query: the answer matters for the frame it puts on the air, not
     * for a decision); the answers a decision still waits for are left as they are.
     */
    void Ask(const std::vector<bool>& asked);
    /** Send the query again, to the awaited experts whose answer is not in yet. */
    void Requery();
    /** Awaited answers not received yet (a lost one stays until Forget()). */
    uint32_t Outstanding() const;
    /** Stop waiting for the outstanding answers (a late answer still gives a sample). */
    void Forget();
    /** Called when the first frame of the last awaited answer is in. */
    void SetAllAnsweredCallback(ns3::Callback<void> cb);

    uint64_t Sent() const;     //!< queries sent so far (first ones and repeats)
    uint64_t Answered() const; //!< answer frames received so far (any expert)

  private:
    void Send(const std::vector<bool>& asked);
    void Answer(ns3::Ptr<ns3::Socket> s);
    void Receive(ns3::Ptr<ns3::Socket> s);

    ns3::Ptr<ns3::Socket> m_ueSocket;
    std::vector<ns3::Ptr<ns3::Socket>> m_responders;
    std::vector<ns3::Ipv4Address> m_expertIps;
    ns3::Ipv4Address m_broadcast;
    uint16_t m_port;
    ns3::Ptr<ns3::UniformRandomVariable> m_jitter; //!< seconds
    double m_jitterS;
    uint32_t m_frames; //!< per answer
    uint64_t m_sent{0};
    uint64_t m_answered{0};
    std::vector<bool> m_awaited; //!< per expert: answer to the current query not in yet
    uint32_t m_outstanding{0};
    ns3::Callback<void> m_allAnswered;
};

} // namespace netmoe

#endif /* NETMOE_PROBES_H */
