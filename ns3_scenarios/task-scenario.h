/* SPDX-License-Identifier: GPL-2.0-only
 *
 * TaskScenario: what edge-moe and edge-moe-lte share above their radios: the user
 * device and N expert nodes, one generative task at a time through TaskRunner, the
 * NetmoeReport fields that do not depend on the radio, and the observation: with
 * --observe=probe, the on-demand probes just before each decision (probes.h).
 */
#ifndef NETMOE_TASK_SCENARIO_H
#define NETMOE_TASK_SCENARIO_H

#include "node-mobility.h"
#include "probes.h"
#include "scenario-driver.h"
#include "serving-profile.h"
#include "task-runner.h"

#include "netmoe/messages.h"

#include "ns3/event-id.h"
#include "ns3/ipv4-address.h"
#include "ns3/node-container.h"

#include <memory>
#include <string>
#include <vector>

namespace netmoe
{

/**
 * A SteppedScenario whose tasks are TaskRunner transfers between the user device and its
 * experts; a subclass builds the radio and fills the link measurements and observations.
 */
class TaskScenario : public SteppedScenario
{
  public:
    /**
     * Run \p seconds up to the next decision instant (warm-up, gap). With
     * --observe=probe and some expert not heard within --probeMaxAge of that instant, one
     * broadcast query leaves --probeLead before it (at once if the gap is shorter); if an
     * associated stale expert's answer is still missing then, the decision waits for it up
     * to --probeMaxAge more (an answer later than that would be no fresher than the
     * threshold anyway). The exchange and its energy belong to the gap, not to the next
     * task.
     */
    void Advance(double seconds) override;

    /** An error message for an action this scenario cannot run, or "" if it is valid. */
    std::string CheckAction(const NetmoeAction& action) const override;

    /**
     * Run one task (until every reply is in or the deadline), fill the measurements into
     * \p report, then advance next_gap_s and fill the observation (status STEPPED).
     */
    void Step(const NetmoeAction& action, NetmoeReport& report) override;

    /** Fill the observation part (status, times, obs_*, distance_m) at the current time. */
    void Observe(NetmoeReport& report, uint32_t status) override;

  protected:
    /**
     * Check the number of experts of \p nodes (NS_ABORT naming \p program) and set the TCP
     * segment size and SYN retransmission timeout (s); keep the serving model for the
     * task transfers; creates no node. \p observe: how the observation is kept fresh.
     */
    TaskScenario(const std::string& program,
                 const std::vector<NodeSpec>& nodes,
                 uint32_t tcpSegmentSize,
                 double synTimeout,
                 const ServingConfig& serving,
                 const ObserveConfig& observe);

    /** Create the user device and the experts and give them their mobility. */
    void CreateNodes(const std::vector<NodeSpec>& nodes,
                     const Area& area,
                     const std::string& ns2Trace);

    /** Create the task transfers once the experts have the addresses \p expertIps. */
    void CreateRunner(const std::vector<ns3::Ipv4Address>& expertIps);

    /**
     * With --observe=probe, create the probes: queries to \p broadcast (the subnet's
     * broadcast address), answered by the first \p reachable experts, whose addresses
     * are \p expertIps (probes.h); the others (wired servers) are never asked. A radio
     * whose observation needs no probes does not call it.
     */
    void CreateProbes(ns3::Ipv4Address broadcast,
                      const std::vector<ns3::Ipv4Address>& expertIps,
                      uint32_t reachable);

    /** One line on std::clog: probes sent and answered (nothing without probes). */
    void PrintProbeSummary(const std::string& program) const;

    /** Start the link measurements of a task (just before it starts). */
    virtual void BeginTask() = 0;

    /**
     * Fill the radio's part of \p report for the task that lasted \p taskS seconds
     * (ue_energy_j; per expert snr_db, energy_j, packets_sent/lost, retransmissions),
     * after the transfer fields are in.
     */
    virtual void FillLinkReport(NetmoeReport& report, double taskS) = 0;

    /** Moving average of expert \p e's signal quality (dB), NaN if none yet. */
    virtual double ObservedSnrDb(uint32_t e) const = 0;
    /** Seconds since expert \p e's link was last measured, NaN if never. */
    virtual double SecondsSinceHeard(uint32_t e) const = 0;
    /** Whether expert \p e is attached to the network (associated, connected). */
    virtual bool IsAssociated(uint32_t e) const = 0;
    /** The node distance_m is measured from. */
    virtual ns3::Ptr<ns3::Node> DistanceOrigin() const = 0;

    uint32_t m_numExperts;                //!< N
    ns3::NodeContainer m_ue;              //!< the user device
    ns3::NodeContainer m_experts;         //!< expert 1..N
    std::unique_ptr<TaskRunner> m_runner; //!< the transfers of the current task

  private:
    /** Stop the simulation when every reply is in. */
    void AllRepliesIn();
    /** At the start of a gap: ask the experts the access point does not count associated. */
    void RepairQuery();
    /** Query if some expert's sample would be older than --probeMaxAge at \p decision. */
    void ProbeStale(ns3::Time decision);
    /** The last outstanding probe was answered: decide now if the decision was waiting. */
    void ProbesAnswered();

    ServingConfig m_serving;           //!< experts as LLM servers (--serving)
    ObserveConfig m_observe;           //!< --observe, --probeMaxAge, --probeLead
    std::unique_ptr<Probes> m_probes;  //!< null unless --observe=probe
    uint32_t m_probeReachable{0};      //!< experts 1..this hear the query
    bool m_waitingForProbes{false};    //!< past the gap, waiting for answers

    std::vector<double> m_lastGoodput; //!< per expert, Mbit/s, 0 until measured
    ns3::EventId m_deadline;           //!< the current task's deadline
};

} // namespace netmoe

#endif /* NETMOE_TASK_SCENARIO_H */
