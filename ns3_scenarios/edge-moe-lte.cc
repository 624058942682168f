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
 *  - Log-distance path loss (3GPP TR 36.814 macro, 128.1 + 37.6 log10(d/km) dB by
 *    default) or Friis; ns-3's closed-loop uplink power control; RLC AM (or UM).
 *  - A task: the same TCP request/reply transfers as edge-moe (task-runner.h).
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
 *   edge-moe-lte --bridgeFd=3          (started by pybridge, which passes the descriptor)
 */

#include "edge-moe-lte-scenario.h"
#include "scenario-driver.h"

#include "ns3/command-line.h"
#include "ns3/log.h"

#include <cmath>

using namespace ns3;

NS_LOG_COMPONENT_DEFINE("EdgeMoeLte");

int
main(int argc, char* argv[])
{
    netmoe::LteScenarioConfig config;
    netmoe::DriverOptions driver;
    driver.program = "edge-moe-lte";
    netmoe::LayoutOptions layout;
    layout.area = "-1000,1000,-1000,1000";
    layout.radius = 200.0;
    layout.height = 1.5;
    std::string enb = "0,0,30";

    CommandLine cmd(__FILE__);
    cmd.Usage("One user device offloading generative subtasks to N edge experts through an "
              "LTE cell (eNB + EPC).");
    layout.AddTo(cmd,
                 "default layout: experts on a circle of this radius (m) around the user at "
                 "the origin",
                 "default layout: antenna height of every UE (m)");
    cmd.AddValue("ns2Trace", "ns-2 movement trace for nodes of mobility ns2 ($node_(0) = UE)",
                 config.ns2Trace);
    cmd.AddValue("enb", "eNB antenna position x,y,z (m)", enb);
    cmd.AddValue("bandwidthRbs", "UL and DL bandwidth in resource blocks: 6, 15, 25, 50, 75, 100",
                 config.lte.bandwidthRbs);
    cmd.AddValue("earfcn", "downlink EARFCN (uplink = +18000); 100 = band 1, 2120 MHz",
                 config.lte.dlEarfcn);
    cmd.AddValue("enbTxPowerDbm", "eNB transmit power (dBm)", config.lte.enbTxPowerDbm);
    cmd.AddValue("ueTxPowerDbm", "UE maximum transmit power (dBm)", config.lte.ueTxPowerDbm);
    cmd.AddValue("scheduler", "MAC scheduler: pf, rr, fdmt, tdmt, tta, fdbet, tdbet, fdtbfq, "
                              "tdtbfq, pss, cqa or an ns3::...FfMacScheduler TypeId",
                 config.lte.scheduler);
    cmd.AddValue("propagation", "logdistance or friis", config.lte.propagation);
    cmd.AddValue("exponent", "log-distance path-loss exponent", config.lte.exponent);
    cmd.AddValue("referenceLoss", "log-distance loss at 1 m (dB)", config.lte.referenceLoss);
    cmd.AddValue("rlcMode", "RLC mode of the data bearers: am or um", config.lte.rlcMode);
    cmd.AddValue("rlcBufferBytes", "RLC transmission buffer per bearer (bytes)",
                 config.lte.rlcBufferBytes);
    cmd.AddValue("cellLoadUes", "other UEs loading the cell (0: none)", config.lte.cellLoadUes);
    cmd.AddValue("cellLoadMbps", "their total offered Poisson UDP load, half DL half UL (Mbit/s)",
                 config.lte.cellLoadMbps);
    cmd.AddValue("cellLoadRadius", "they stand on a circle of this radius around the eNB (m)",
                 config.lte.cellLoadRadius);
    cmd.AddValue("cellLoadPacketBytes", "UDP payload of a load datagram",
                 config.lte.cellLoadPacketBytes);
    cmd.AddValue("ueBaseW", "energy model: user radio power while RRC-connected (W)",
                 config.power.baseW);
    cmd.AddValue("ueTxW", "energy model: added in a subframe with an uplink TB (W)",
                 config.power.txW);
    cmd.AddValue("ueRxW", "energy model: added in a subframe with a downlink TB (W)",
                 config.power.rxW);
    cmd.AddValue("snrAlpha", "weight of a new sample in obs_snr_db's moving average",
                 config.snrAlpha);
    cmd.AddValue("synTimeout", "TCP's first SYN retransmission timeout (s; ns-3's default: 3)",
                 config.synTimeout);
    driver.AddTo(cmd);
    cmd.Parse(argc, argv);

    const uint32_t n = layout.Resolve(driver.program, config.nodes, config.area);
    config.lte.enbPosition = netmoe::ParsePosition(enb, "--enb", "edge-moe-lte");
    netmoe::ValidateLteConfig(config.lte);
    const auto& pw = config.power;
    if (!(pw.baseW >= 0 && pw.txW >= 0 && pw.rxW >= 0) ||
        !std::isfinite(pw.baseW + pw.txW + pw.rxW))
    {
        NS_FATAL_ERROR("edge-moe-lte: --ueBaseW, --ueTxW, --ueRxW must be finite and >= 0");
    }
    if (!(config.snrAlpha > 0 && config.snrAlpha <= 1))
    {
        NS_FATAL_ERROR("edge-moe-lte: --snrAlpha must be in (0,1]");
    }
    driver.Prepare(n); // the standalone script, before any simulation

    netmoe::EdgeMoeLteScenario scenario(config);
    return netmoe::RunScenario(scenario, driver);
}
