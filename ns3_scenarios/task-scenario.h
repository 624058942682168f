/* SPDX-License-Identifier: GPL-2.0-only
 *
 * TaskScenario: what edge-moe and edge-moe-lte share above their radios: M user devices
 * and N expert nodes, one round at a time (each user device's generative task through its
 * own TaskRunner, the experts' LLM servers shared), the NetmoeReport fields that do not
 * depend on the radio, and the observation: with --observe=probe, the on-demand probes
 * just before each decision (probes.h; user 0's, with several users).
 *
 * A round: user u's task starts start_offset_s after the round starts; the round ends
 * when every user's replies are in or its deadline (its start + deadline_s) has passed,
 * which loses only that user's late replies. Then next_gap_s (action[0]'s) idle, then
 * every user's observation. With one user this is exactly the one-task step it was
 * before users existed (same events, same random draws).
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

    /** M. */
    uint32_t NumUsers() const override;

    /** An error message for an action this scenario cannot run, or "" if it is valid. */
    std::string CheckAction(const NetmoeAction& action) const override;

    /**
     * Run one round (until every user's replies are in or its deadline), fill each user's
     * measurements into \p reports, then advance next_gap_s and fill the observations
     * (status STEPPED).
     */
    void Step(const NetmoeAction* actions, NetmoeReport* reports) override;

    /** Fill every user's observation part (status, times, obs_*, distance_m) now. */
    void Observe(NetmoeReport* reports, uint32_t status) override;

  protected:
    /**
     * Check the number of experts of \p nodes (its first \p numUsers are user devices;
     * NS_ABORT naming \p program) and set the TCP
     * segment size and SYN retransmission timeout (s); keep the serving model for the
     * task transfers; creates no node. \p observe: how the observation is kept fresh.
     */
    TaskScenario(const std::string& program,
                 const std::vector<NodeSpec>& nodes,
                 uint32_t numUsers,
                 uint32_t tcpSegmentSize,
                 double synTimeout,
                 const ServingConfig& serving,
                 const ObserveConfig& observe);

    /**
     * Create the user devices and the experts and give them their mobility: user 0, the
     * experts, then users 1..M-1 (so one user creates what it always did), in m_ue.
     */
    void CreateNodes(const std::vector<NodeSpec>& nodes,
                     const Area& area,
                     const std::string& ns2Trace);

    /**
     * Create the experts' shared LLM servers (--serving) and each user's task transfers
     * once the experts have the addresses \p expertIps.
     */
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

    /**
     * The access point, which is user device 0, has just dropped expert \p e (0-based;
     * the range edge's low-ack disassociation). With --observe=probe and a task (any
     * user's) waiting for a reply of \p e, ask \p e at once, then after --probeLead and at
     * doubling intervals up to --probeRepairMax while it is not associated and a task
     * still waits for it (probes.h, "Repair"); otherwise nothing now (the gap's repair
     * queries ask it).
     */
    void ExpertDropped(uint32_t e);

    /** Start the link measurements of a round (every user's; just before it starts). */
    virtual void BeginTask() = 0;

    /**
     * Fill the radio's part of user \p u's \p report for the round that lasted \p taskS
     * seconds (ue_energy_j; per expert snr_db, energy_j, packets_sent/lost,
     * retransmissions), after the transfer fields are in.
     */
    virtual void FillLinkReport(uint32_t u, NetmoeReport& report, double taskS) = 0;

    /** User \p u's radio energy since the scenario began (J); ue_energy_j with M > 1. */
    virtual double UserEnergyJ(uint32_t u) const = 0;
    /** Moving average of expert \p e's signal quality at user \p u (dB), NaN if none yet. */
    virtual double ObservedSnrDb(uint32_t u, uint32_t e) const = 0;
    /** Seconds since user \p u last measured expert \p e's link, NaN if never. */
    virtual double SecondsSinceHeard(uint32_t u, uint32_t e) const = 0;
    /** Whether user \p u can reach expert \p e (both associated, connected). */
    virtual bool IsAssociated(uint32_t u, uint32_t e) const = 0;
    /** The node user \p u's distance_m is measured from. */
    virtual ns3::Ptr<ns3::Node> DistanceOrigin(uint32_t u) const = 0;

    uint32_t m_numUsers;                  //!< M
    uint32_t m_numExperts;                //!< N
    ns3::NodeContainer m_ue;              //!< the user devices, user u at index u
    ns3::NodeContainer m_experts;         //!< expert 1..N
    std::vector<std::unique_ptr<TaskRunner>> m_runners; //!< each user's transfers

  private:
    /** User \p u's replies are all in: stop the simulation when every user is settled. */
    void UserDone(uint32_t u);
    /** User \p u's deadline (M > 1): its late replies are lost; stop if everyone settled. */
    void UserDeadline(uint32_t u);
    /** User \p u's task starts (M > 1): its energy window opens, its connections open. */
    void LaunchUser(uint32_t u);
    /** A shared expert server started request \p id: route it to its user's runner. */
    void ServerStarted(uint32_t id, double queueWaitS);
    /** A shared expert server produced tokens of request \p id: route them likewise. */
    void ServerTokens(uint32_t id, uint32_t tokens);
    /** Fill the round's per-expert queue lengths of \p report. */
    void FillRoundReport(NetmoeReport& report) const;
    /**
     * In a gap: ask the experts the access point does not count associated; again after
     * --probeMaxAge, then at doubling intervals up to --probeRepairMax (never shorter than
     * --probeMaxAge), while any is.
     */
    void RepairQuery();
    /** --observe=probe, one user: launch the task, then RestartTaskRepair. */
    void LaunchAndRepair();
    /**
     * During a task (from its launch, and when the access point drops an expert): ask the
     * experts it waits for that the access point does not count associated; again after
     * --probeLead, then at doubling intervals up to --probeRepairMax, while any is.
     */
    void RepairDuringTask();
    /** A task was launched: ask at once, and let the repair's intervals start again. */
    void RestartTaskRepair();
    /** Whether some user's task waits for expert \p e's reply. */
    bool AnyUserWaitsFor(uint32_t e) const;
    /** Query if some expert's sample would be older than --probeMaxAge at \p decision. */
    void ProbeStale(ns3::Time decision);
    /** The last outstanding probe was answered: decide now if the decision was waiting. */
    void ProbesAnswered();

    ServingConfig m_serving;           //!< experts as LLM servers (--serving)
    ObserveConfig m_observe;           //!< --observe, --probeMaxAge, --probeLead
    std::unique_ptr<Probes> m_probes;  //!< null unless --observe=probe
    uint32_t m_probeReachable{0};      //!< experts 1..this hear the query
    bool m_waitingForProbes{false};    //!< past the gap, waiting for answers
    ns3::EventId m_answerFramesIn;     //!< ends the wait once the last answer's frames are in
    ns3::EventId m_taskRepair;         //!< the next RepairDuringTask, while a task runs
    ns3::EventId m_gapRepair;          //!< the next RepairQuery, while a gap runs
    double m_taskRepairInterval{0};    //!< s until the RepairDuringTask after the next
    double m_gapRepairInterval{0};     //!< s until the RepairQuery after the next
    bool m_restartPending{false};      //!< M > 1: a RestartTaskRepair is scheduled now

    std::vector<std::vector<double>> m_lastGoodput; //!< per user, per expert, Mbit/s, 0: never
    std::vector<std::unique_ptr<LlmServer>> m_servers; //!< --serving: expert i's at i-1
    ns3::EventId m_deadline;           //!< one user: the task's deadline
    std::vector<ns3::EventId> m_userDeadlines; //!< M > 1: each user's deadline
    std::vector<bool> m_settled;       //!< this round: user's replies in or deadline passed
    std::vector<ns3::Time> m_userEnd;  //!< when it settled
    std::vector<double> m_energyStart; //!< M > 1: user's radio energy at its task start (J)
    std::vector<double> m_energyEnd;   //!< and when it settled
    uint32_t m_unsettled{0};           //!< users of the round not settled yet
};

} // namespace netmoe

#endif /* NETMOE_TASK_SCENARIO_H */
