/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Probes: what a device does when it needs fresh link state before a decision and has not
 * heard an expert lately. The user device sends a small UDP request to the expert, which
 * answers with a datagram of the same size (an echo, RFC 862's port 7); the answer's frame
 * gives the link monitor a fresh signal sample, as any frame from the expert does. Nothing
 * is sent between decisions: the device otherwise learns from the task traffic it hears.
 *
 * ObserveConfig holds the observation flags shared by every scenario program:
 *   --observe=probe|heartbeat  on-demand probes (default), or the continuous 10 Hz
 *                              heartbeats (edge-moe; edge-moe-lte has none: the cell's
 *                              periodic reports alone, no probes)
 *   --probeMaxAge              probe an expert whose last sample would be older than this
 *                              at the decision instant
 *   --probeLead                probes leave this long before the decision instant
 */
#ifndef NETMOE_PROBES_H
#define NETMOE_PROBES_H

#include "netmoe/scenario-defaults.h"

#include "ns3/callback.h"
#include "ns3/ipv4-address.h"
#include "ns3/node-container.h"
#include "ns3/socket.h"

#include <string>
#include <vector>

namespace netmoe
{

/** The observation flags (--observe, --probeMaxAge, --probeLead). */
struct ObserveConfig
{
    std::string mode{defaults::observe};     //!< "probe" or "heartbeat"
    double probeMaxAge{defaults::probeMaxAge}; //!< s: probe when the sample would be older
    double probeLead{defaults::probeLead};     //!< s: probes leave this long before a decision

    /** Whether the user device probes before its decisions. */
    bool Probing() const
    {
        return mode == "probe";
    }
};

/** On-demand UDP request/answer between the user device and each expert. */
class Probes
{
  public:
    /**
     * Install the responders (experts) and the user device's socket.
     * \param expertIps expert i's IPv4 address at index i-1
     * \param port UDP port of the responders
     */
    Probes(ns3::Ptr<ns3::Node> ue,
           const ns3::NodeContainer& experts,
           const std::vector<ns3::Ipv4Address>& expertIps,
           uint16_t port);

    /** Send one probe to expert \p e (0-based), now. */
    void Send(uint32_t e);
    /** Probes sent and not answered yet (a lost one stays until Forget()). */
    uint32_t Outstanding() const;
    /** Stop waiting for the outstanding probes (a late answer still gives a sample). */
    void Forget();
    /** Called when the last outstanding probe is answered. */
    void SetAllAnsweredCallback(ns3::Callback<void> cb);

    uint64_t Sent() const;     //!< probes sent so far
    uint64_t Answered() const; //!< answers received so far

  private:
    void Answer(ns3::Ptr<ns3::Socket> s);
    void Receive(ns3::Ptr<ns3::Socket> s);

    ns3::Ptr<ns3::Socket> m_ueSocket;
    std::vector<ns3::Ptr<ns3::Socket>> m_responders;
    std::vector<ns3::Ipv4Address> m_expertIps;
    uint16_t m_port;
    uint64_t m_sent{0};
    uint64_t m_answered{0};
    uint32_t m_outstanding{0};
    ns3::Callback<void> m_allAnswered;
};

} // namespace netmoe

#endif /* NETMOE_PROBES_H */
