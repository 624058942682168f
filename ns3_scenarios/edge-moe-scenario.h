/* SPDX-License-Identifier: GPL-2.0-only
 *
 * EdgeMoeScenario: the edge-moe network (user device + N experts on one Wi-Fi BSS),
 * run one generative task at a time, filling NetmoeReport (see messages.h and
 * docs/scenario.md for every field).
 */
#ifndef NETMOE_EDGE_MOE_SCENARIO_H
#define NETMOE_EDGE_MOE_SCENARIO_H

#include "background-load.h"
#include "building-layout.h"
#include "extra-outputs.h"
#include "heartbeats.h"
#include "link-monitor.h"
#include "node-mobility.h"
#include "scenario-driver.h"
#include "task-runner.h"
#include "wifi-network.h"

#include "netmoe/messages.h"

#include "ns3/event-id.h"
#include "ns3/node-container.h"

#include <memory>
#include <string>
#include <vector>

namespace netmoe
{

/** Everything the scenario needs besides the per-task actions. */
struct ScenarioConfig
{
    std::vector<NodeSpec> nodes;    //!< user device first, then experts
    Area area;                      //!< bounds of the random mobility models
    WifiConfig wifi;                //!< radio settings
    uint32_t heartbeatBytes{64};    //!< UDP payload of a heartbeat
    double heartbeatInterval{0.1};  //!< seconds between heartbeats of one expert
    double snrAlpha{0.3};           //!< weight of a new sample in the observed-SNR average
    uint32_t tcpSegmentSize{1448};  //!< TCP MSS (bytes)
    std::string ns2Trace;           //!< ns-2 movement trace for nodes of model "ns2"
    BuildingSpec building;          //!< a building (walls, floors) for indoor scenarios
    BackgroundSpec background;      //!< a neighbouring co-channel BSS loading the channel
    std::string pcapPrefix;         //!< pcap per Wi-Fi device (empty: none)
    std::string flowmonXml;         //!< FlowMonitor XML written by Finish (empty: none)
};

/** The scenario, stepped task by task. */
class EdgeMoeScenario : public SteppedScenario
{
  public:
    explicit EdgeMoeScenario(const ScenarioConfig& config);

    /** Let association and a few heartbeats happen before the first observation. */
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

    uint32_t NumExperts() const;

    /** Write the optional outputs (FlowMonitor XML) and print a summary of the load. */
    void Finish() override;

  private:
    void AllRepliesIn();

    ScenarioConfig m_config;
    uint32_t m_numExperts;
    ns3::NodeContainer m_ue;
    ns3::NodeContainer m_experts;
    WifiNetwork m_net;
    std::unique_ptr<LinkMonitor> m_monitor;
    std::unique_ptr<TaskRunner> m_runner;
    std::unique_ptr<Heartbeats> m_heartbeats;
    std::unique_ptr<BackgroundLoad> m_background;
    std::unique_ptr<ExtraOutputs> m_outputs;
    std::vector<double> m_lastGoodput; //!< per expert, Mbit/s, 0 until measured
    ns3::EventId m_deadline;
};

} // namespace netmoe

#endif /* NETMOE_EDGE_MOE_SCENARIO_H */
