/* SPDX-License-Identifier: GPL-2.0-only
 *
 * edge-moe: a user device offloads the subtasks of generative tasks to N edge experts
 * over IEEE 802.11, one task per step, driven by Python through the netmoe bridge or by
 * a scripted policy (--standalone).
 *
 * What it models
 *  - One BSS: the user device (UE) is the access point (a phone hotspot / Wi-Fi Direct
 *    group owner), experts 1..N are stations associated to it, single hop; or, with
 *    --topology=infrastructure, a separate access point (--apPosition; a home gateway or
 *    campus AP) with the UE and the experts as its stations (two hops through the air),
 *    and --wiredServers=M wired edge servers behind it (CSMA or point-to-point,
 *    --wiredRate, --wiredDelay), experts N+1..N+M. YANS channel
 *    with log-distance (default), Friis or 3GPP indoor-office path loss, optional
 *    Nakagami-m fading; 802.11ax/ac/n/g/a; per-node mobility (--nodes).
 *  - Observation: with --observe=heartbeat (the default) every expert sends a small UDP
 *    heartbeat to the UE every --heartbeatInterval. With --observe=probe the UE knows
 *    each expert's recent SNR from the frames it hears (task traffic) and, just before a
 *    decision, from the answers to one broadcast UDP query to the experts it has not
 *    heard within --probeMaxAge; it repeats a repair query to experts it dropped (probes.h).
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
 *   edge-moe --standalone --tasks=5 --observe=heartbeat --heartbeatInterval=0.05
 *   edge-moe --standalone --tasks=4 --script="1,2,3;0,1,2" --requestBytes=200 \
 *            --replyBytes=1500,800,2400 --computeS=0.2 --deadline=5 --gap=1
 *   edge-moe --standalone --nodes="0,0,1;5,0,1;40,0,1|random-walk|speed=2;2000,0,1"
 *   edge-moe --standalone --numExperts=16 --nakagami=1 --RngRun=7
 *   edge-moe --standalone --propagation=buildings --building=-10,10,-8,8,0,3 --rooms=3,2
 *   edge-moe --standalone --bgStations=4 --bgLoadMbps=20 --bgAp=10,0,1
 *   edge-moe --standalone --nodes="0,0,1|ns2;5,0,1;20,0,1" --ns2Trace=walk.ns2
 *   edge-moe --standalone --pcap=/tmp/em --flowmonXml=/tmp/em-flows.xml
 *   edge-moe --standalone --netanim=/tmp/em-anim.xml   (open it in NetAnim)
 *   edge-moe --standalone --topology=infrastructure --apPosition=0,0,2.5 --wiredServers=1 \
 *            --wiredLink=p2p --wiredRate=1Gbps --wiredDelay=0.002 --script="1,2,4"
 *   edge-moe --check --standard=80211g --rateManager=aarf --deadline=10 --gap=2
 *                                  (validate only: one JSON line of resolved values)
 *   edge-moe --check --nodes="0,0,1;1e12,0,1"     (refused: one line on stderr, exit 2)
 *   edge-moe --bridgeFd=3          (started by pybridge, which passes the descriptor)
 *
 * Flags and their ranges: --help, docs/scenario.md. A bad value exits with status 2 and
 * one line, "edge-moe: --<flag>: <problem>" (scenario-main.h).
 */

#include "edge-moe-scenario.h"
#include "scenario-main.h"

#include "netmoe/scenario-defaults.h"

#include "ns3/log.h"

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("EdgeMoe");

namespace netmoe
{

/** The Wi-Fi radio's flags, rules and network. */
class EdgeMoeProgram : public ScenarioProgram
{
  public:
    std::string Name() const override
    {
        return "edge-moe";
    }

    std::string Usage() const override
    {
        return "One user device offloading generative subtasks to N edge experts over Wi-Fi.";
    }

    LayoutDefaults Layout() const override
    {
        return {defaults::area,
                defaults::radius,
                defaults::height,
                "default layout: experts on a circle of this radius (m)",
                "default layout: antenna height of every node (m)"};
    }

    void AddFlags(FlagSet& f) override
    {
        WifiConfig& w = m_config.wifi;
        f.Add("standard", "80211ax, 80211ac, 80211n, 80211g or 80211a", w.standard);
        f.Add("band",
              "2.4, 5 or 6 GHz as the standard allows (0: its default, 5, or 2.4 for 80211g)",
              w.bandGhz, Range{0, 6});
        f.Add("channelWidth", "20, 40, 80 or 160 MHz, as the standard and band allow",
              w.channelWidth, Range{20, 160, false, true});
        f.Add("rateManager",
              "ideal, minstrel, constant, thompson, aarf (80211a/g) or an ns3::...WifiManager",
              w.rateManager);
        f.Add("dataMode",
              "WifiMode for --rateManager=constant, one stream of the standard (HeMcs0-11, "
              "VhtMcs0-9, HtMcs0-7, ErpOfdmRate6-54Mbps, OfdmRate6-54Mbps; default MCS 4 / "
              "24 Mbit/s)",
              w.dataMode);
        f.Add("propagation", "logdistance, friis, 3gpp-indoor or buildings", w.propagation);
        f.Add("exponent", "log-distance path-loss exponent", w.exponent, Range{0, 8, true});
        f.Add("referenceLoss", "log-distance loss at 1 m (dB)", w.referenceLoss, Range{0, 200});
        f.Add("nakagami", "add Nakagami-m fading", w.nakagami);
        f.Add("nakagamiM", "Nakagami m (1: Rayleigh)", w.nakagamiM, Range{0.5, 100});
        f.Add("txPowerDbm", "transmit power of every device (dBm)", w.txPowerDbm, Range{-10, 40});
        f.Add("keepStaticArp",
              "refill the static ARP entries after a link change (ns-3 flushes them when an "
              "expert loses its association); 0: ns-3's default",
              m_config.keepStaticArp);
        f.Add("lowAckThreshold",
              "unanswered transmissions before the user device disassociates an expert, + "
              "deauthentication of experts it dropped; 0: ns-3's own behaviour",
              m_lowAckThreshold, Range{0, 1e6, false, true});
        f.Add("wallLossDb", "buildings: loss per internal wall crossed (dB)", w.wallLossDb,
              Range{0, 100});
        f.Add("shadowSigmaDb", "buildings: indoor log-normal shadowing sigma (dB)",
              w.shadowSigmaDb, Range{0, 50});
        f.Add("building",
              "a building xmin,xmax,ymin,ymax,zmin,zmax (m, within +-1e5; empty: none)",
              m_building);
        f.Add("buildingType", "residential, office or commercial (ITU-R P.1238 class)",
              m_buildingType);
        f.Add("rooms", "rooms of the building along x,y (walls between them), each 1..100",
              m_rooms);
        f.Add("floors", "floors of the building", m_floors, kFloorsRange);
        f.Add("bgStations", "stations of a neighbouring co-channel BSS (0: none)",
              m_config.background.stations, Range{0, 64, false, true});
        f.Add("bgLoadMbps", "their total offered UDP load (Poisson), Mbit/s",
              m_config.background.loadMbps, Range{0, 1000});
        f.Add("bgAp", "position x,y,z of the neighbouring access point (m, within +-1e5)", m_bgAp);
        f.Add("bgRadius", "its stations on a circle of this radius (m)",
              m_config.background.radius, Range{0, kMaxCoordinate});
        f.Add("bgPacketBytes", "UDP payload of a neighbour datagram",
              m_config.background.packetBytes, Range{1, 65000, false, true});
        f.Add("pcap", "write a pcap per Wi-Fi device with this path prefix", m_config.pcapPrefix);
        f.Add("flowmonXml", "write FlowMonitor statistics to this XML file at the end",
              m_config.flowmonXml);
        f.Add("netanim",
              "write a NetAnim XML trace (nodes: users, experts; their moves) to this file, "
              "closed when the run ends (empty: none)",
              m_config.netanim);
        f.Add("netanimPackets", "--netanim: trace every packet too (large files)",
              m_config.netanimPackets);
        f.Add("topology",
              "direct (the user device is the access point) or infrastructure (a separate "
              "access point at --apPosition, wired servers behind it)",
              m_topology);
        f.Add("apPosition", "infrastructure: position x,y,z of the access point (m, within +-1e5)",
              m_apPosition);
        AddWiredFlags(f, m_config.wired, "the access point (needs --topology=infrastructure)");
        f.Add("heartbeatBytes", "observe=heartbeat: UDP payload of an expert heartbeat (0: none)",
              m_config.heartbeatBytes, Range{0, 65000, false, true});
        f.Add("heartbeatInterval", "observe=heartbeat: seconds between heartbeats of one expert",
              m_config.heartbeatInterval, Range{0.001, 3600});
        f.AddResolved("rateManagerTypeId", [&w] { return JsonString(w.rateManagerTypeId); });
    }

    void Validate(const ScenarioLayout& layout) override
    {
        ValidateWifiConfig(m_config.wifi);
        m_config.building = ParseBuildingSpec(m_building, m_buildingType, m_rooms, m_floors);
        if (m_config.building.enabled && m_config.wifi.propagation != "buildings")
        {
            throw ConfigError("building", "needs --propagation=buildings (walls are in that "
                                          "model), got --propagation=" +
                                              m_config.wifi.propagation);
        }
        m_config.background.apPosition = ParsePosition(m_bgAp, "bgAp");
        ValidateBackgroundSpec(m_config.background);
        if (m_config.wifi.propagation == "buildings")
        {
            // ns-3's HybridBuildingsPropagationLossModel asserts on nodes below ground
            for (uint32_t i = 0; i < layout.nodes.size(); ++i)
            {
                if (layout.nodes[i].position.z < 0)
                {
                    throw ConfigError("nodes", NodeName(i, layout.numUsers) + ": z must be >= 0 with "
                                               "--propagation=buildings (no underground nodes)");
                }
            }
            if (m_config.background.stations > 0 && m_config.background.apPosition.z < 0)
            {
                throw ConfigError("bgAp", "z must be >= 0 with --propagation=buildings");
            }
        }
        ValidateTopology(layout);
        CheckOutputPaths(m_config.pcapPrefix, m_config.flowmonXml);
        CheckNetAnimPath(m_config.netanim);
        m_config.lowAckThreshold = static_cast<uint32_t>(m_lowAckThreshold);
        ApplyLayout(layout, m_config);
    }

    uint32_t WiredExperts() const override
    {
        return m_config.wired.servers;
    }

    std::unique_ptr<SteppedScenario> Build(const ScenarioLayout& /* layout */) override
    {
        return std::make_unique<EdgeMoeScenario>(m_config);
    }

  private:
    /** --topology, --apPosition and the wired servers. */
    void ValidateTopology(const ScenarioLayout& layout)
    {
        if (m_topology != "direct" && m_topology != "infrastructure")
        {
            throw ConfigError("topology",
                              "must be direct or infrastructure, got '" + m_topology + "'");
        }
        m_config.infrastructure = m_topology == "infrastructure";
        m_config.apPosition = ParsePosition(m_apPosition, "apPosition");
        ValidateWiredConfig(m_config.wired);
        if (m_config.wired.servers > 0 && !m_config.infrastructure)
        {
            throw ConfigError("wiredServers",
                              std::to_string(m_config.wired.servers) +
                                  " wired servers need --topology=infrastructure (they hang off "
                                  "its access point)");
        }
        const size_t experts = layout.nodes.size() - layout.numUsers + m_config.wired.servers;
        if (experts > NETMOE_MAX_EXPERTS)
        {
            throw ConfigError("wiredServers",
                              std::to_string(layout.nodes.size() - layout.numUsers) + " radio experts + " +
                                  std::to_string(m_config.wired.servers) +
                                  " wired servers: at most " +
                                  std::to_string(NETMOE_MAX_EXPERTS) + " experts in all");
        }
        if (m_config.infrastructure && m_config.wifi.propagation == "buildings" &&
            m_config.apPosition.z < 0)
        {
            throw ConfigError("apPosition", "z must be >= 0 with --propagation=buildings");
        }
    }

    ScenarioConfig m_config;
    std::string m_topology{defaults::topology};
    std::string m_apPosition{defaults::apPosition};
    std::string m_building;
    std::string m_buildingType{defaults::buildingType};
    std::string m_rooms{defaults::rooms};
    uint32_t m_floors{defaults::floors};
    std::string m_bgAp{defaults::bgAp};
    int64_t m_lowAckThreshold{defaults::lowAckThreshold}; // signed: reject -1, not wrap it
};

} // namespace netmoe

int
main(int argc, char* argv[])
{
    netmoe::EdgeMoeProgram program;
    return netmoe::ScenarioMain(argc, argv, program);
}
