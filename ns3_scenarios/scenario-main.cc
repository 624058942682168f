/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The shared main of the scenario programs (see scenario-main.h).
 */
#include "scenario-main.h"

#include "netmoe/scenario-defaults.h"

#include "ns3/callback.h"
#include "ns3/command-line.h"
#include "ns3/rng-seed-manager.h"

#include <functional>
#include <iostream>

namespace netmoe
{

int
ScenarioMain(int argc, char* argv[], ScenarioProgram& program)
{
    const std::string name = program.Name();
    const LayoutDefaults ld = program.Layout();
    LayoutOptions layout;
    layout.area = ld.area;
    layout.radius = ld.radius;
    layout.height = ld.height;
    ScenarioLayout shared{{}, 1, {}, "", defaults::snrAlpha, defaults::synTimeout, {}, {}};
    ServingOptions serving;
    DriverOptions driver;
    driver.program = name;
    bool check = false;

    ns3::CommandLine cmd(name);
    cmd.Usage(program.Usage());
    FlagSet flags(cmd);
    try
    {
        layout.AddTo(flags, ld.radiusHelp, ld.heightHelp);
        flags.Add("ns2Trace", "ns-2 movement trace for nodes of mobility ns2 ($node_(0) = UE)",
                  shared.ns2Trace);
        program.AddFlags(flags);
        flags.Add("snrAlpha", "weight of a new sample in obs_snr_db's moving average",
                  shared.snrAlpha, kSnrAlphaRange);
        flags.Add("synTimeout", "TCP's first SYN retransmission timeout (s; ns-3's default: 3)",
                  shared.synTimeout, kSynTimeoutRange);
        flags.Add("observe",
                  "how the user device keeps its observation fresh: probe (edge-moe: one "
                  "broadcast query just before a decision when an expert was not heard within "
                  "--probeMaxAge, answered by every expert; edge-moe-lte: nothing, the cell's "
                  "reports are fresh) or heartbeat (edge-moe's experts send --heartbeatBytes "
                  "every --heartbeatInterval)",
                  shared.observe.mode);
        flags.Add("probeMaxAge",
                  "observe=probe: query when an expert's last sample would be older than this "
                  "at the decision (s)",
                  shared.observe.probeMaxAge, kProbeMaxAgeRange);
        flags.Add("probeLead",
                  "observe=probe: the query leaves this long before the decision (s; at the "
                  "start of a shorter gap)",
                  shared.observe.probeLead, kProbeLeadRange);
        flags.Add("probeJitter",
                  "observe=probe: each expert delays its answer by uniform [0, this] s so "
                  "that answers do not collide (below --probeLead)",
                  shared.observe.probeJitter, kProbeJitterRange);
        flags.Add("probeAnswers",
                  "observe=probe: each expert answers with this many frames, " +
                      FormatNumber(kAnswerSpacingS * 1e3) +
                      " ms apart (the user device averages their SNR samples)",
                  shared.observe.probeAnswers, kProbeAnswersRange);
        flags.Add("probeRepairMax",
                  "observe=probe: repair queries to experts the user device dropped repeat at "
                  "intervals that double (from --probeLead in a task, --probeMaxAge in a "
                  "gap) up to this, never below the first (s; 0: no doubling)",
                  shared.observe.probeRepairMax, kProbeRepairMaxRange);
        serving.AddTo(flags);
        driver.AddTo(flags);
        // ns-3's own --RngSeed/--RngRun, with their rules checked here (ns-3 would exit
        // with its multi-line usage): same effect as its global values.
        std::function<bool(const std::string&)> onSeed = [](const std::string& t) {
            ns3::RngSeedManager::SetSeed(
                static_cast<uint32_t>(ParseInteger(t, "RngSeed", kRngSeedRange)));
            return true;
        };
        std::function<bool(const std::string&)> onRun = [](const std::string& t) {
            ns3::RngSeedManager::SetRun(
                static_cast<uint64_t>(ParseInteger(t, "RngRun", kRngRunRange)));
            return true;
        };
        cmd.AddValue("RngSeed", "ns-3's random seed (" + kRngSeedRange.Text() + ")",
                     ns3::Callback<bool, const std::string&>(onSeed), "1");
        cmd.AddValue("RngRun", "ns-3's run number: independent streams (" + kRngRunRange.Text() + ")",
                     ns3::Callback<bool, const std::string&>(onRun), "1");
        flags.AddResolved("RngSeed", [] { return std::to_string(ns3::RngSeedManager::GetSeed()); });
        flags.AddResolved("RngRun", [] { return std::to_string(ns3::RngSeedManager::GetRun()); });
        std::function<bool(const std::string&)> onCheck = [&check](const std::string& t) {
            check = ParseBool(t, "check", check);
            return true;
        };
        cmd.AddValue("check",
                     "parse and validate every flag, print their resolved values as one JSON "
                     "line and exit (0; 2 with one line on stderr for a bad value)",
                     ns3::Callback<bool, const std::string&>(onCheck),
                     "false");

        cmd.Parse(argc, argv);
        if (shared.observe.mode != "probe" && shared.observe.mode != "heartbeat")
        {
            throw ConfigError("observe", "must be probe or heartbeat, got '" +
                                             shared.observe.mode + "'");
        }
        if (shared.observe.Probing() && !(shared.observe.probeJitter < shared.observe.probeLead))
        {
            throw ConfigError("probeJitter", "must be below --probeLead (" +
                                                 FormatNumber(shared.observe.probeLead) +
                                                 "): answers come back before the decision");
        }
        if (shared.observe.Probing() &&
            !(shared.observe.probeJitter + shared.observe.AnswerSpread() <
              shared.observe.probeLead))
        {
            throw ConfigError(
                "probeAnswers",
                "got " + std::to_string(shared.observe.probeAnswers) +
                    ": an answer's last frame would leave after the decision (--probeJitter + "
                    "(this - 1) x " + FormatNumber(kAnswerSpacingS * 1e3) +
                    " ms must be below --probeLead, " +
                    FormatNumber(shared.observe.probeLead) + " s)");
        }
        const uint32_t n = layout.Resolve(shared.nodes, shared.area, shared.ns2Trace);
        shared.numUsers = layout.numUsers;
        const uint32_t experts = n + program.WiredExperts(); // wired servers serve too
        shared.serving = serving.Resolve(experts);
        driver.serving = shared.serving.enabled;
        program.Validate(shared);
        driver.Prepare(experts, check);
        if (check)
        {
            std::cout << flags.Json(name) << std::endl;
            return 0;
        }
        if (!driver.standalone)
        {
            return ServeBridge([&program, &shared] { return program.Build(shared); }, driver);
        }
        std::unique_ptr<SteppedScenario> scenario = program.Build(shared);
        return RunScenario(*scenario, driver);
    }
    catch (const ConfigError& e)
    {
        std::cerr << name << ": --" << e.Flag() << ": " << e.Problem() << std::endl;
        return 2;
    }
}

} // namespace netmoe
