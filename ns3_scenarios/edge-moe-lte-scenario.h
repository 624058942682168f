/* SPDX-License-Identifier: GPL-2.0-only
 *
 * EdgeMoeLteScenario: the user device and the N edge experts are UEs of one LTE cell
 * (eNB + EPC), with other UEs loading it; one generative task at a time, filling
 * NetmoeReport with the same meaning as edge-moe where the radio allows (see
 * docs/scenario-lte.md for every field).
 */
#ifndef NETMOE_EDGE_MOE_LTE_SCENARIO_H
#define NETMOE_EDGE_MOE_LTE_SCENARIO_H

#include "cell-load.h"
#include "lte-monitor.h"
#include "lte-network.h"
#include "node-mobility.h"
#include "scenario-driver.h"
#include "task-runner.h"

#include "netmoe/messages.h"

#include "ns3/event-id.h"
#include "ns3/node-container.h"

#include <memory>
#include <string>
#include <vector>

namespace netmoe
{

/** The user device's radio power model (the ns-3 energy model has no LTE radio). */
struct LteUePower
{
    double baseW{1.0}; //!< RRC_CONNECTED, DRX off: PDCCH monitored every subframe
    double txW{1.5};   //!< added in a subframe in which the UE sends an uplink TB
    double rxW{0.5};   //!< added in a subframe in which it receives a downlink TB
};

/** Everything the LTE scenario needs besides the per-task actions. */
struct LteScenarioConfig
{
    std::vector<NodeSpec> nodes;   //!< user device first, then experts
    Area area;                     //!< bounds of the random mobility models
    std::string ns2Trace;          //!< ns-2 movement trace for nodes of model "ns2"
    LteConfig lte;                 //!< the cell
    LteUePower power;              //!< the energy estimate
    double snrAlpha{0.3};          //!< weight of a new sample in the observed-SINR average
    uint32_t tcpSegmentSize{1448}; //!< TCP MSS (bytes), as edge-moe
};

/** The scenario, stepped task by task. */
class EdgeMoeLteScenario : public SteppedScenario
{
  public:
    explicit EdgeMoeLteScenario(const LteScenarioConfig& config);

    void Advance(double seconds) override;
    std::string CheckAction(const NetmoeAction& action) const override;
    void Step(const NetmoeAction& action, NetmoeReport& report) override;
    void Observe(NetmoeReport& report, uint32_t status) override;
    void Finish() override;

  private:
    void AllRepliesIn();

    LteScenarioConfig m_config;
    uint32_t m_numExperts;
    ns3::NodeContainer m_enb;
    ns3::NodeContainer m_ue;
    ns3::NodeContainer m_experts;
    ns3::NodeContainer m_load;
    LteNetwork m_net;
    std::unique_ptr<LteMonitor> m_monitor;
    std::unique_ptr<TaskRunner> m_runner;
    std::unique_ptr<CellLoad> m_cellLoad;
    std::vector<double> m_lastGoodput; //!< per expert, Mbit/s, 0 until measured
    ns3::EventId m_deadline;
};

} // namespace netmoe

#endif /* NETMOE_EDGE_MOE_LTE_SCENARIO_H */
