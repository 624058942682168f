/* SPDX-License-Identifier: GPL-2.0-only
 *
 * edge-moe: a user device offloads the subtasks of generative tasks to N edge experts
 * over IEEE 802.11, one task per step, driven by Python through the netmoe bridge or by
 * a scripted policy (--standalone).
 *
 * What it models
 *  - One BSS: the user device (UE) is the access point (a phone hotspot / Wi-Fi Direct
 *    group owner), experts 1..N are stations associated to it, single hop. YANS channel
 *    with log-distance (default), Friis or 3GPP indoor-office path loss, optional
 *    Nakagami-m fading; 802.11ax/ac/n/g/a; per-node mobility (--nodes).
 *  - Every expert sends a small UDP heartbeat to the UE every --heartbeatInterval, so the
 *    UE knows each expert's recent SNR even when it is not in use.
 *  - A task: for each offloaded subtask the UE opens a TCP connection to its expert and
 *    sends the request; the expert waits compute_s, then sends the reply. The task ends
 *    when every reply is in or at the deadline; the next one starts next_gap_s later.
 *  - Measured per expert from ns-3 traces: SNR at the UE, bytes, delay, goodput, MAC data
 *    frames, drops, retransmissions, and the UE radio energy (WifiRadioEnergyModel),
 *    attributed by airtime. See docs/scenario.md.
 *
 * Commands to try
 *   edge-moe --standalone --tasks=5
 *   edge-moe --standalone --tasks=4 --script="1,2,3;0,1,2" --requestBytes=200 \
 *            --replyBytes=1500,800,2400 --computeS=0.2 --deadline=5 --gap=1
 *   edge-moe --standalone --nodes="0,0,1;5,0,1;40,0,1|random-walk|speed=2;2000,0,1"
 *   edge-moe --standalone --numExperts=16 --nakagami=1 --RngRun=7
 *   edge-moe --standalone --propagation=buildings --building=-10,10,-8,8,0,3 --rooms=3,2
 *   edge-moe --standalone --bgStations=4 --bgLoadMbps=20 --bgAp=10,0,1
 *   edge-moe --standalone --nodes="0,0,1|ns2;5,0,1;20,0,1" --ns2Trace=walk.ns2
 *   edge-moe --standalone --pcap=/tmp/em --flowmonXml=/tmp/em-flows.xml
 *   edge-moe --bridgeFd=3          (started by pybridge, which passes the descriptor)
 */

#include "edge-moe-scenario.h"
#include "report-json.h"

#include "netmoe/bridge.h"

#include "ns3/command-line.h"
#include "ns3/log.h"
#include "ns3/simulator.h"

#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <sstream>

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("EdgeMoe");

namespace
{

/** Comma-separated numbers; NS_FATAL_ERROR names the flag on a bad one. */
std::vector<double>
ParseList(const std::string& text, const std::string& flag)
{
    std::vector<double> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ','))
    {
        try
        {
            size_t used = 0;
            out.push_back(std::stod(item, &used));
            if (used != item.size())
            {
                throw std::invalid_argument(item);
            }
        }
        catch (const std::exception&)
        {
            NS_FATAL_ERROR("edge-moe: " << flag << ": '" << item << "' is not a number");
        }
    }
    if (out.empty())
    {
        NS_FATAL_ERROR("edge-moe: " << flag << " is empty");
    }
    return out;
}

/** A report with no measurement yet (the READY report). */
void
ClearReport(NetmoeReport& r)
{
    r = NetmoeReport{};
    for (auto& v : r.snr_db)
    {
        v = std::numeric_limits<double>::quiet_NaN();
    }
}

} // namespace

int
main(int argc, char* argv[])
{
    netmoe::ScenarioConfig config;
    uint32_t numExperts = 0;
    std::string nodes;
    std::string area = "-50,50,-50,50";
    double radius = 10.0;
    double height = 1.0;
    double warmup = 1.0;
    int bridgeFd = -1;
    std::string bridgeName;
    long spin = 2000;
    double bridgeTimeout = 600.0;
    bool standalone = false;
    uint32_t tasks = 5;
    std::string script;
    std::string requestBytes = "200";
    std::string replyBytes = "1500";
    std::string computeS = "0.2";
    double deadline = 5.0;
    double gap = 1.0;
    std::string building;
    std::string buildingType = "residential";
    std::string rooms = "1,1";
    uint32_t floors = 1;
    std::string bgAp = "0,0,1";

    CommandLine cmd(__FILE__);
    cmd.Usage("One user device offloading generative subtasks to N edge experts over Wi-Fi.");
    cmd.AddValue("numExperts", "number of experts N (default 3, or the count in --nodes)",
                 numExperts);
    cmd.AddValue("nodes", "per-node position and mobility: \"<ue>;<expert1>;...\", each "
                          "x,y,z[|model[|key=val,...]]",
                 nodes);
    cmd.AddValue("area", "xmin,xmax,ymin,ymax bounding the random mobility models", area);
    cmd.AddValue("radius", "default layout: experts on a circle of this radius (m)", radius);
    cmd.AddValue("height", "default layout: antenna height of every node (m)", height);
    cmd.AddValue("standard", "80211ax, 80211ac, 80211n, 80211g or 80211a", config.wifi.standard);
    cmd.AddValue("band", "2.4, 5 or 6 GHz (default: 5, or 2.4 for 80211g)", config.wifi.bandGhz);
    cmd.AddValue("channelWidth", "20, 40, 80 or 160 MHz", config.wifi.channelWidth);
    cmd.AddValue("rateManager", "ideal, minstrel, constant, thompson, aarf or an ns3:: TypeId",
                 config.wifi.rateManager);
    cmd.AddValue("dataMode", "WifiMode for --rateManager=constant (default per standard)",
                 config.wifi.dataMode);
    cmd.AddValue("propagation", "logdistance, friis or 3gpp-indoor", config.wifi.propagation);
    cmd.AddValue("exponent", "log-distance path-loss exponent", config.wifi.exponent);
    cmd.AddValue("referenceLoss", "log-distance loss at 1 m (dB)", config.wifi.referenceLoss);
    cmd.AddValue("nakagami", "add Nakagami-m fading", config.wifi.nakagami);
    cmd.AddValue("nakagamiM", "Nakagami m (1: Rayleigh)", config.wifi.nakagamiM);
    cmd.AddValue("txPowerDbm", "transmit power of every device (dBm)", config.wifi.txPowerDbm);
    cmd.AddValue("wallLossDb", "buildings: loss per internal wall crossed (dB)",
                 config.wifi.wallLossDb);
    cmd.AddValue("shadowSigmaDb", "buildings: indoor log-normal shadowing sigma (dB)",
                 config.wifi.shadowSigmaDb);
    cmd.AddValue("building", "a building xmin,xmax,ymin,ymax,zmin,zmax (m; empty: none)",
                 building);
    cmd.AddValue("buildingType", "residential, office or commercial (ITU-R P.1238 class)",
                 buildingType);
    cmd.AddValue("rooms", "rooms of the building along x,y (walls between them)", rooms);
    cmd.AddValue("floors", "floors of the building", floors);
    cmd.AddValue("ns2Trace", "ns-2 movement trace for nodes of mobility ns2 ($node_(0) = UE)",
                 config.ns2Trace);
    cmd.AddValue("bgStations", "stations of a neighbouring co-channel BSS (0: none)",
                 config.background.stations);
    cmd.AddValue("bgLoadMbps", "their total offered UDP load (Poisson), Mbit/s",
                 config.background.loadMbps);
    cmd.AddValue("bgAp", "position x,y,z of the neighbouring access point", bgAp);
    cmd.AddValue("bgRadius", "its stations on a circle of this radius (m)",
                 config.background.radius);
    cmd.AddValue("bgPacketBytes", "UDP payload of a neighbour datagram",
                 config.background.packetBytes);
    cmd.AddValue("pcap", "write a pcap per Wi-Fi device with this path prefix", config.pcapPrefix);
    cmd.AddValue("flowmonXml", "write FlowMonitor statistics to this XML file at the end",
                 config.flowmonXml);
    cmd.AddValue("heartbeatBytes", "UDP payload of an expert heartbeat (0: none)",
                 config.heartbeatBytes);
    cmd.AddValue("heartbeatInterval", "seconds between heartbeats of one expert",
                 config.heartbeatInterval);
    cmd.AddValue("snrAlpha", "weight of a new sample in obs_snr_db's moving average",
                 config.snrAlpha);
    cmd.AddValue("warmup", "simulated seconds before the first observation", warmup);
    cmd.AddValue("bridgeFd", "shared-memory descriptor passed by pybridge", bridgeFd);
    cmd.AddValue("bridgeName", "or a named POSIX shared-memory segment", bridgeName);
    cmd.AddValue("spin", "busy-poll iterations before sleeping in a bridge wait", spin);
    cmd.AddValue("bridgeTimeout", "longest wait for Python's next action (s)", bridgeTimeout);
    cmd.AddValue("standalone", "run scripted tasks and print JSON lines, no Python", standalone);
    cmd.AddValue("tasks", "standalone: number of tasks", tasks);
    cmd.AddValue("script", "standalone: targets per task, \"1,2,3;0,1\" (cycled; default all "
                           "experts)",
                 script);
    cmd.AddValue("requestBytes", "standalone: request size per subtask, comma list (cycled)",
                 requestBytes);
    cmd.AddValue("replyBytes", "standalone: reply size per subtask, comma list (cycled)",
                 replyBytes);
    cmd.AddValue("computeS", "standalone: expert generation time per subtask (s), comma list",
                 computeS);
    cmd.AddValue("deadline", "standalone: task deadline (s)", deadline);
    cmd.AddValue("gap", "standalone: simulated idle time between tasks (s)", gap);
    cmd.Parse(argc, argv);

    // Nodes and layout.
    if (!nodes.empty())
    {
        config.nodes = netmoe::ParseNodeSpecs(nodes);
        if (numExperts != 0 && numExperts + 1 != config.nodes.size())
        {
            NS_FATAL_ERROR("edge-moe: --numExperts=" << numExperts << " but --nodes lists "
                                                     << config.nodes.size() - 1 << " experts");
        }
    }
    else
    {
        config.nodes = netmoe::DefaultNodeSpecs(numExperts ? numExperts : 3, radius, height);
    }
    const size_t n = config.nodes.size() - 1;
    if (n < 1 || n > NETMOE_MAX_EXPERTS)
    {
        NS_FATAL_ERROR("edge-moe: number of experts must be 1.." << NETMOE_MAX_EXPERTS << ", got "
                                                                 << n);
    }
    config.area = netmoe::ParseArea(area);
    netmoe::ValidateWifiConfig(config.wifi);
    config.building = netmoe::ParseBuildingSpec(building, buildingType, rooms, floors);
    if (config.building.enabled && config.wifi.propagation != "buildings")
    {
        NS_FATAL_ERROR("edge-moe: --building needs --propagation=buildings (walls are in that "
                       "model)");
    }
    config.background.apPosition = netmoe::ParseBackgroundAp(bgAp);
    netmoe::ValidateBackgroundSpec(config.background);
    if (!(config.heartbeatInterval > 0) || !(config.snrAlpha > 0 && config.snrAlpha <= 1))
    {
        NS_FATAL_ERROR("edge-moe: --heartbeatInterval must be > 0 and --snrAlpha in (0,1]");
    }
    if (!standalone && bridgeFd < 0 && bridgeName.empty())
    {
        NS_FATAL_ERROR("edge-moe: give --standalone, or --bridgeFd/--bridgeName (pybridge)");
    }

    // Standalone script, checked before any simulation.
    std::vector<std::vector<int>> plan;
    std::vector<double> req;
    std::vector<double> rep;
    std::vector<double> comp;
    if (standalone)
    {
        if (script.empty())
        {
            for (size_t e = 1; e <= n; ++e)
            {
                script += (e > 1 ? "," : "") + std::to_string(e);
            }
        }
        std::stringstream in(script);
        std::string task;
        while (std::getline(in, task, ';'))
        {
            std::vector<int> targets;
            for (double t : ParseList(task, "--script"))
            {
                if (t != std::floor(t) || t < 0 || t > n)
                {
                    NS_FATAL_ERROR("edge-moe: --script: target " << t << " is out of range 0.."
                                                                 << n);
                }
                targets.push_back(static_cast<int>(t));
            }
            if (targets.size() > NETMOE_MAX_SUBTASKS)
            {
                NS_FATAL_ERROR("edge-moe: --script: more than " << NETMOE_MAX_SUBTASKS
                                                                << " subtasks in a task");
            }
            plan.push_back(targets);
        }
        req = ParseList(requestBytes, "--requestBytes");
        rep = ParseList(replyBytes, "--replyBytes");
        comp = ParseList(computeS, "--computeS");
    }

    netmoe::EdgeMoeScenario scenario(config);
    scenario.Advance(warmup);

    if (standalone)
    {
        NetmoeReport report;
        double wallTotal = 0;
        for (uint32_t i = 0; i < tasks; ++i)
        {
            NetmoeAction a{};
            a.command = NETMOE_CMD_STEP;
            a.task_id = i;
            const auto& targets = plan[i % plan.size()];
            a.num_subtasks = static_cast<uint32_t>(targets.size());
            for (uint32_t k = 0; k < a.num_subtasks; ++k)
            {
                a.target[k] = targets[k];
                a.request_bytes[k] = static_cast<uint32_t>(req[k % req.size()]);
                a.reply_bytes[k] = static_cast<uint32_t>(rep[k % rep.size()]);
                a.compute_s[k] = comp[k % comp.size()];
            }
            a.deadline_s = deadline;
            a.next_gap_s = gap;
            std::string error = scenario.CheckAction(a);
            if (!error.empty())
            {
                NS_FATAL_ERROR("edge-moe: " << error);
            }
            ClearReport(report);
            auto t0 = std::chrono::steady_clock::now();
            scenario.Step(a, report);
            wallTotal += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            std::cout << netmoe::ReportToJson(report) << std::endl;
        }
        std::cerr << "edge-moe: " << tasks << " tasks, " << (tasks ? wallTotal / tasks * 1e3 : 0)
                  << " ms wall per task (ns-3 only), " << Simulator::GetEventCount()
                  << " events in all\n";
        scenario.Finish();
        Simulator::Destroy();
        return 0;
    }

    int rc = 0;
    try
    {
        netmoe::ScenarioBridge bridge(bridgeFd, bridgeName, spin, bridgeTimeout);
        NetmoeReport& report = bridge.Report();
        ClearReport(report);
        scenario.Observe(report, NETMOE_STATUS_READY);
        while (bridge.Exchange())
        {
            const NetmoeAction action = bridge.Action(); // a copy: Python may reuse the slot
            std::string error = scenario.CheckAction(action);
            if (!error.empty())
            {
                bridge.SetError("edge-moe: bad action: " + error);
                NS_FATAL_ERROR("edge-moe: bad action: " << error);
            }
            scenario.Step(action, report);
        }
    }
    catch (const netmoe::BridgeError& e)
    {
        std::cerr << "edge-moe: " << e.what() << std::endl;
        rc = 3;
    }
    scenario.Finish();
    Simulator::Destroy();
    return rc;
}
