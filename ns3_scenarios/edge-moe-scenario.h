/* SPDX-License-Identifier: GPL-2.0-only
 *
 * EdgeMoeScenario: the edge-moe network (user device + N experts on one Wi-Fi BSS, the
 * user device its access point, or with --topology=infrastructure a separate access point
 * and wired edge servers behind it), run one round at a time, filling NetmoeReport (see
 * messages.h and docs/scenario.md for every field). With --numUsers=M the other user
 * devices are stations of the same BSS (direct: of user 0's hotspot, which relays their
 * traffic), each measured by its own monitor that counts only its own traffic.
 */
#ifndef NETMOE_EDGE_MOE_SCENARIO_H
#define NETMOE_EDGE_MOE_SCENARIO_H

#include "background-load.h"
#include "building-layout.h"
#include "extra-outputs.h"
#include "heartbeats.h"
#include "infra-monitor.h"
#include "link-monitor.h"
#include "node-mobility.h"
#include "range-edge.h"
#include "serving-profile.h"
#include "task-scenario.h"
#include "wifi-network.h"
#include "wired-servers.h"

#include "netmoe/messages.h"
#include "netmoe/scenario-defaults.h"

#include <memory>
#include <string>
#include <vector>

namespace netmoe
{

/** Everything the scenario needs besides the per-task actions. */
struct ScenarioConfig
{
    std::vector<NodeSpec> nodes;    //!< the user devices first, then experts
    uint32_t numUsers{1};           //!< M user devices (--numUsers)
    Area area;                      //!< bounds of the random mobility models
    WifiConfig wifi;                //!< radio settings
    bool infrastructure{false};     //!< --topology=infrastructure: a separate access point
    ns3::Vector apPosition;         //!< its position (m)
    WiredConfig wired;              //!< wired servers behind it (experts N+1..N+M)
    uint32_t lowAckThreshold{defaults::lowAckThreshold}; //!< RangeEdge: silent sends (0: off)
    bool keepStaticArp{defaults::keepStaticArp != 0}; //!< refill static ARP after a link change
    ObserveConfig observe;          //!< probes (default) or heartbeats
    uint32_t heartbeatBytes{defaults::heartbeatBytes};       //!< UDP payload of a heartbeat
    double heartbeatInterval{defaults::heartbeatInterval};   //!< s between heartbeats of an expert
    double snrAlpha{defaults::snrAlpha}; //!< weight of a new sample in the observed-SNR average
    uint32_t tcpSegmentSize{1448};       //!< TCP MSS (bytes)
    double synTimeout{defaults::synTimeout}; //!< TCP's first SYN retransmission timeout (s)
    ServingConfig serving;           //!< experts as LLM servers (--serving)
    std::string ns2Trace;           //!< ns-2 movement trace for nodes of model "ns2"
    BuildingSpec building;          //!< a building (walls, floors) for indoor scenarios
    BackgroundSpec background;      //!< a neighbouring co-channel BSS loading the channel
    std::string pcapPrefix;         //!< pcap per Wi-Fi device (empty: none)
    std::string flowmonXml;         //!< FlowMonitor XML written by Finish (empty: none)
    std::string netanim;            //!< NetAnim XML trace, closed by Finish (empty: none)
    bool netanimPackets = false;    //!< the NetAnim trace has every packet too
};

/** The scenario, stepped task by task (the task loop is TaskScenario's). */
class EdgeMoeScenario : public TaskScenario
{
  public:
    explicit EdgeMoeScenario(const ScenarioConfig& config);

    /** Write the optional outputs (FlowMonitor XML) and print a summary of the load. */
    void Finish() override;
    /** ", N AP station entries": the access points' station lists (one entry a station). */
    std::string ProgressNote() const override;

  private:
    void BeginTask() override;
    /** A Wi-Fi link went up or down: refill the static ARP entries it flushed. */
    void LinkChanged();
    void FillLinkReport(uint32_t u, NetmoeReport& report, double taskS) override;
    double UserEnergyJ(uint32_t u) const override;
    double ObservedSnrDb(uint32_t u, uint32_t e) const override;
    double SecondsSinceHeard(uint32_t u, uint32_t e) const override;
    bool IsAssociated(uint32_t u, uint32_t e) const override;
    ns3::Ptr<ns3::Node> DistanceOrigin(uint32_t u) const override;
    /** User \p u's radio energy model. */
    const UeRadioEnergy& Radio(uint32_t u) const;

    ScenarioConfig m_config;
    WifiNetwork m_net;
    ns3::NetDeviceContainer m_bssDevices; //!< every Wi-Fi device of the BSS
    uint32_t m_numWireless{0};             //!< experts on the radio (the rest are wired)
    ns3::NodeContainer m_ap;               //!< infrastructure: the access point
    ns3::NodeContainer m_servers;          //!< infrastructure: the wired servers
    std::unique_ptr<LinkMonitor> m_monitor; //!< direct: user 0's (its hotspot's)
    std::vector<std::unique_ptr<InfraMonitor>> m_infra; //!< user u's at u: infrastructure
                                                        //!< all, direct users 1..M-1
    std::unique_ptr<Heartbeats> m_heartbeats; //!< null unless --observe=heartbeat
    std::unique_ptr<BackgroundLoad> m_background;
    std::unique_ptr<ExtraOutputs> m_outputs;
    std::unique_ptr<RangeEdge> m_rangeEdge; //!< null with --lowAckThreshold=0
    std::vector<double> m_energy0; //!< each user radio's energy counter when the round began (J)
};

} // namespace netmoe

#endif /* NETMOE_EDGE_MOE_SCENARIO_H */
