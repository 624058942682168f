/* SPDX-License-Identifier: GPL-2.0-only
 *
 * EdgeMoeLteScenario: the user device and the N edge experts are UEs of one LTE cell
 * (eNB + EPC), with other UEs loading it, and M wired edge servers behind the PGW
 * (multi-access edge computing; experts N+1..N+M); one generative task at a time, filling
 * NetmoeReport with the same meaning as edge-moe where the radio allows (see
 * docs/scenario-lte.md for every field).
 */
#ifndef NETMOE_EDGE_MOE_LTE_SCENARIO_H
#define NETMOE_EDGE_MOE_LTE_SCENARIO_H

#include "cell-load.h"
#include "lte-monitor.h"
#include "lte-network.h"
#include "lte-user-sinr.h"
#include "node-mobility.h"
#include "serving-profile.h"
#include "task-scenario.h"
#include "wired-servers.h"

#include "netmoe/messages.h"
#include "netmoe/scenario-defaults.h"

#include "ns3/node-container.h"

#include <memory>
#include <string>
#include <vector>

namespace netmoe
{

/** The user device's radio power model (the ns-3 energy model has no LTE radio). */
struct LteUePower
{
    double baseW{defaults::ueBaseW}; //!< RRC_CONNECTED, DRX off: PDCCH monitored every subframe
    double txW{defaults::ueTxW};     //!< added in a subframe in which the UE sends an uplink TB
    double rxW{defaults::ueRxW};     //!< added in a subframe in which it receives a downlink TB
};

/** Everything the LTE scenario needs besides the per-task actions. */
struct LteScenarioConfig
{
    std::vector<NodeSpec> nodes;   //!< user device first, then experts
    uint32_t numUsers{1};          //!< M user devices (--numUsers), UEs of the cell
    Area area;                     //!< bounds of the random mobility models
    std::string ns2Trace;          //!< ns-2 movement trace for nodes of model "ns2"
    LteConfig lte;                 //!< the cell
    LteUePower power;              //!< the energy estimate
    WiredConfig wired;             //!< edge servers behind the PGW (experts N+1..N+M)
    double snrAlpha{defaults::snrAlpha};     //!< weight of a new sample in the observed-SINR average
    ObserveConfig observe;                   //!< accepted; the cell's reports alone either way
    uint32_t tcpSegmentSize{1448};           //!< TCP MSS (bytes), as edge-moe
    double synTimeout{defaults::synTimeout}; //!< TCP's first SYN retransmission timeout (s)
    ServingConfig serving;           //!< experts as LLM servers (--serving)
};

/** The scenario, stepped task by task (the task loop is TaskScenario's). */
class EdgeMoeLteScenario : public TaskScenario
{
  public:
    explicit EdgeMoeLteScenario(const LteScenarioConfig& config);

    /** Run, then hook the RLC traces once every UE is connected. */
    void Advance(double seconds) override;
    void Finish() override;

  private:
    void BeginTask() override;
    void FillLinkReport(uint32_t u, NetmoeReport& report, double taskS) override;
    double UserEnergyJ(uint32_t u) const override;
    double ObservedSnrDb(uint32_t u, uint32_t e) const override;
    double SecondsSinceHeard(uint32_t u, uint32_t e) const override;
    bool IsAssociated(uint32_t u, uint32_t e) const override;
    ns3::Ptr<ns3::Node> DistanceOrigin(uint32_t u) const override;

    LteScenarioConfig m_config;
    ns3::NodeContainer m_enb;
    ns3::NodeContainer m_load;
    LteNetwork m_net;
    std::vector<std::unique_ptr<LteMonitor>> m_monitors; //!< user u's at u
    uint32_t m_numWireless{0};                 //!< experts that are UEs (the rest are wired)
    ns3::NodeContainer m_servers;              //!< the wired edge servers
    std::vector<std::unique_ptr<LteUserSinr>> m_userSinr; //!< with wired servers: each user's
                                                          //!< radio hop of their path
    std::unique_ptr<CellLoad> m_cellLoad;
};

} // namespace netmoe

#endif /* NETMOE_EDGE_MOE_LTE_SCENARIO_H */
