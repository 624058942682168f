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
 *    A lost SYN is resent after --synTimeout (1 s, RFC 6298; ns-3's default is 3 s).
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
#include "scenario-driver.h"

#include "ns3/command-line.h"
#include "ns3/log.h"

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("EdgeMoe");

int
main(int argc, char* argv[])
{
    netmoe::ScenarioConfig config;
    netmoe::DriverOptions driver;
    driver.program = "edge-moe";
    netmoe::LayoutOptions layout;
    layout.area = "-50,50,-50,50";
    layout.radius = 10.0;
    layout.height = 1.0;
    std::string building;
    std::string buildingType = "residential";
    std::string rooms = "1,1";
    uint32_t floors = 1;
    std::string bgAp = "0,0,1";
    int64_t lowAckThreshold = config.lowAckThreshold; // signed: reject -1, not wrap it

    CommandLine cmd(__FILE__);
    cmd.Usage("One user device offloading generative subtasks to N edge experts over Wi-Fi.");
    layout.AddTo(cmd,
                 "default layout: experts on a circle of this radius (m)",
                 "default layout: antenna height of every node (m)");
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
    cmd.AddValue("keepStaticArp",
                 "refill the static ARP entries after a link change (ns-3 flushes them "
                 "when an expert loses its association); 0: ns-3's default",
                 config.keepStaticArp);
    cmd.AddValue("lowAckThreshold",
                 "unanswered transmissions before the user device disassociates an expert, "
                 "+ deauthentication of experts it dropped; 0: ns-3's own behaviour",
                 lowAckThreshold);
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
    cmd.AddValue("synTimeout", "TCP's first SYN retransmission timeout (s; ns-3's default: 3)",
                 config.synTimeout);
    driver.AddTo(cmd);
    cmd.Parse(argc, argv);

    const uint32_t n = layout.Resolve(driver.program, config.nodes, config.area);
    netmoe::ValidateWifiConfig(config.wifi);
    config.building = netmoe::ParseBuildingSpec(building, buildingType, rooms, floors);
    if (config.building.enabled && config.wifi.propagation != "buildings")
    {
        NS_FATAL_ERROR("edge-moe: --building needs --propagation=buildings (walls are in that "
                       "model)");
    }
    config.background.apPosition = netmoe::ParsePosition(bgAp, "--bgAp", "edge-moe");
    netmoe::ValidateBackgroundSpec(config.background);
    if (lowAckThreshold < 0 || lowAckThreshold > 1000000)
    {
        NS_FATAL_ERROR("edge-moe: --lowAckThreshold must be in 0..1000000 (0: off)");
    }
    config.lowAckThreshold = static_cast<uint32_t>(lowAckThreshold);
    if (!(config.heartbeatInterval > 0) || !(config.snrAlpha > 0 && config.snrAlpha <= 1))
    {
        NS_FATAL_ERROR("edge-moe: --heartbeatInterval must be > 0 and --snrAlpha in (0,1]");
    }
    driver.Prepare(n); // the standalone script, before any simulation

    netmoe::EdgeMoeScenario scenario(config);
    return netmoe::RunScenario(scenario, driver);
}
