/* SPDX-License-Identifier: GPL-2.0-only
 *
 * edge-moe-lte: a user device offloads the subtasks of generative tasks to N edge
 * experts through an LTE cell (eNB + EPC), one task per step, driven by Python through
 * the netmoe bridge or by a scripted policy (--standalone). Same bridge and NetmoeReport
 * as edge-moe.
 *
 * What it models
 *  - One LTE cell (ns-3 lte module, LteHelper + PointToPointEpcHelper, FDD band 1,
 *    1.4-20 MHz): the user device and the experts are UEs of the cell (phones, laptops,
 *    home servers with a modem), so a request goes user UE -> eNB -> S1-U -> SGW/PGW
 *    -> eNB -> expert UE and the reply back the same way. --cellLoadUes other UEs exchange
 *    Poisson UDP with a remote host behind the PGW at --cellLoadMbps in total (half DL,
 *    half UL); the MAC scheduler (--scheduler) shares the resource blocks among everyone.
 *  - --wiredServers=M edge servers wired to the PGW (multi-access edge computing; CSMA or
 *    point-to-point, --wiredRate, --wiredDelay) are experts N+1..N+M: user UE -> eNB ->
 *    S1-U -> PGW -> wire.
 *  - Log-distance path loss (3GPP TR 36.814 macro, 128.1 + 37.6 log10(d/km) dB by
 *    default) or Friis; ns-3's closed-loop uplink power control; RLC AM (or UM).
 *  - A task: the same TCP request/reply transfers as edge-moe (task-runner.h).
 *  - The observation: the cell's periodic uplink SINR reports of each expert, which keep
 *    every age far below --probeMaxAge: --observe is accepted (one config for both
 *    radios) but this program sends neither probes nor heartbeats.
 *  - Measured per expert from LTE traces: uplink SINR at the eNB, TBs and HARQ
 *    retransmissions on the expert's link, RLC drops; delay, goodput and bytes from the
 *    transfers; the user's radio energy from an airtime power model (the ns-3 energy
 *    model has no LTE radio). See docs/scenario-lte.md.
 *
 * Commands to try
 *   edge-moe-lte --standalone --tasks=5
 *   edge-moe-lte --standalone --nodes="50,0,1.5;100,0,1.5;400,0,1.5;900,0,1.5" --tasks=3
 *   edge-moe-lte --standalone --cellLoadUes=10 --cellLoadMbps=8 --scheduler=rr
 *   edge-moe-lte --standalone --bandwidthRbs=50 --replyBytes=20000 --RngRun=4
 *   edge-moe-lte --standalone --wiredServers=1 --wiredDelay=0.002 --script="4,1,4"
 *                                      (expert 4: an edge server behind the PGW)
 *   edge-moe-lte --check --scheduler=rr --cellLoadUes=4 --cellLoadMbps=5
 *                                      (validate only: one JSON line of resolved values)
 *   edge-moe-lte --check --earfcn=1e12 (refused: one line on stderr, exit 2)
 *   edge-moe-lte --bridgeFd=3          (started by pybridge, which passes the descriptor)
 *
 * Flags and their ranges: --help, docs/scenario-lte.md. A bad value exits with status 2
 * and one line, "edge-moe-lte: --<flag>: <problem>" (scenario-main.h).
 */

#include "edge-moe-lte-scenario.h"
#include "scenario-main.h"

#include "netmoe/scenario-defaults.h"

#include "ns3/log.h"

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("EdgeMoeLte");

namespace netmoe
{

/** The LTE radio's flags, rules and network. */
class EdgeMoeLteProgram : public ScenarioProgram
{
  public:
    std::string Name() const override
    {
        return "edge-moe-lte";
    }

    std::string Usage() const override
    {
        return "One user device offloading generative subtasks to N edge experts through an "
               "LTE cell (eNB + EPC).";
    }

    LayoutDefaults Layout() const override
    {
        return {defaults::lteArea,
                defaults::lteRadius,
                defaults::lteHeight,
                "default layout: experts on a circle of this radius (m) around the user at "
                "the origin",
                "default layout: antenna height of every UE (m)"};
    }

    void AddFlags(FlagSet& f) override
    {
        LteConfig& c = m_config.lte;
        LteUePower& p = m_config.power;
        f.Add("enb", "eNB antenna position x,y,z (m, within +-1e5)", m_enb);
        f.Add("bandwidthRbs", "UL and DL bandwidth in resource blocks: 6, 15, 25, 50, 75 or 100",
              c.bandwidthRbs, Range{6, 100, false, true});
        f.Add("earfcn", "downlink EARFCN of band 1 (uplink = +18000); 100 = 2120 MHz",
              c.dlEarfcn, Range{0, 599, false, true});
        f.Add("enbTxPowerDbm", "eNB transmit power (dBm)", c.enbTxPowerDbm, Range{-10, 60, true});
        f.Add("ueTxPowerDbm", "UE maximum transmit power (dBm)", c.ueTxPowerDbm,
              Range{-40, 30, true});
        f.Add("scheduler",
              "MAC scheduler: pf, rr, fdmt, tdmt, tta, fdbet, tdbet, fdtbfq, tdtbfq, pss, cqa "
              "or an ns3::...FfMacScheduler TypeId",
              c.scheduler);
        f.Add("propagation", "logdistance or friis", c.propagation);
        f.Add("exponent", "log-distance path-loss exponent", c.exponent, Range{0, 8, true});
        f.Add("referenceLoss", "log-distance loss at 1 m (dB)", c.referenceLoss, Range{0, 200});
        f.Add("rlcMode", "RLC mode of the data bearers: am or um", c.rlcMode);
        f.Add("rlcBufferBytes", "RLC transmission buffer per bearer (bytes)", c.rlcBufferBytes,
              Range{1500, 1e8, false, true});
        f.Add("cellLoadUes", "other UEs loading the cell (0: none)", c.cellLoadUes,
              Range{0, 64, false, true});
        f.Add("cellLoadMbps", "their total offered Poisson UDP load, half DL half UL (Mbit/s)",
              c.cellLoadMbps, Range{0, 1000});
        f.Add("cellLoadRadius", "they stand on a circle of this radius around the eNB (m)",
              c.cellLoadRadius, Range{0, kMaxCoordinate});
        f.Add("cellLoadPacketBytes", "UDP payload of a load datagram", c.cellLoadPacketBytes,
              Range{1, 65000, false, true});
        f.Add("ueBaseW", "energy model: user radio power while RRC-connected (W)", p.baseW,
              Range{0, 100});
        f.Add("ueTxW", "energy model: added in a subframe with an uplink TB (W)", p.txW,
              Range{0, 100});
        f.Add("ueRxW", "energy model: added in a subframe with a downlink TB (W)", p.rxW,
              Range{0, 100});
        AddWiredFlags(f, m_config.wired, "the EPC's PGW (multi-access edge computing)");
    }

    void Validate(const ScenarioLayout& layout) override
    {
        m_config.lte.enbPosition = ParsePosition(m_enb, "enb");
        ValidateLteConfig(m_config.lte);
        ValidateWiredConfig(m_config.wired);
        if (layout.nodes.size() - layout.numUsers + m_config.wired.servers > NETMOE_MAX_EXPERTS)
        {
            throw ConfigError("wiredServers",
                              std::to_string(layout.nodes.size() - layout.numUsers) + " UE experts + " +
                                  std::to_string(m_config.wired.servers) +
                                  " wired servers: at most " +
                                  std::to_string(NETMOE_MAX_EXPERTS) + " experts in all");
        }
        ApplyLayout(layout, m_config);
    }

    uint32_t WiredExperts() const override
    {
        return m_config.wired.servers;
    }

    std::unique_ptr<SteppedScenario> Build(const ScenarioLayout& /* layout */) override
    {
        return std::make_unique<EdgeMoeLteScenario>(m_config);
    }

  private:
    LteScenarioConfig m_config;
    std::string m_enb{defaults::enb};
};

} // namespace netmoe

int
main(int argc, char* argv[])
{
    netmoe::EdgeMoeLteProgram program;
    return netmoe::ScenarioMain(argc, argv, program);
}
