/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The main of every netmoe scenario program, whatever its radio: the layout flags
 * (--numExperts, --nodes, --area, ...), --ns2Trace, --snrAlpha, --synTimeout, the
 * observation flags (--observe, --probeMaxAge, --probeLead, --probeJitter; probes.h), the
 * serving flags (--serving, --expertProfiles, ...: serving-profile.h), the
 * driver flags (--standalone, --bridgeFd, ...), --check, and the one-line error. A radio
 * implements ScenarioProgram (its own flags, their rules, its network); its main is
 *   int main(int argc, char* argv[]) { MyRadioProgram p; return ScenarioMain(argc, argv, p); }
 *
 * Errors: a bad value anywhere prints exactly one line on stderr,
 *   <program>: --<flag>: <problem, with the bad value and the allowed range>
 * and the program exits with status 2, before any simulation (stdout stays empty).
 * --check: parse and validate every flag as a run would, build nothing, print one JSON
 * line with the resolved value of every flag, exit 0.
 */
#ifndef NETMOE_SCENARIO_MAIN_H
#define NETMOE_SCENARIO_MAIN_H

#include "flag-set.h"
#include "node-mobility.h"
#include "probes.h"
#include "scenario-driver.h"
#include "serving-profile.h"

#include <memory>
#include <string>
#include <vector>

namespace netmoe
{

/** The resolved radio-independent flags a radio builds its scenario from. */
struct ScenarioLayout
{
    std::vector<NodeSpec> nodes; //!< the user devices first, then experts
    uint32_t numUsers{1};        //!< M user devices (--numUsers)
    Area area;                   //!< bounds of the random mobility models
    std::string ns2Trace;        //!< ns-2 movement trace for nodes of model "ns2"
    double snrAlpha;             //!< weight of a new sample in the observed-SNR average
    double synTimeout;           //!< TCP's first SYN retransmission timeout (s)
    ObserveConfig observe;       //!< how the user device keeps its observation fresh
    ServingConfig serving;       //!< experts as LLM servers (--serving, ...)
};

/** Copy the resolved layout into a radio's scenario config (its same-named fields). */
template <class Config>
void
ApplyLayout(const ScenarioLayout& layout, Config& config)
{
    config.nodes = layout.nodes;
    config.numUsers = layout.numUsers;
    config.area = layout.area;
    config.ns2Trace = layout.ns2Trace;
    config.snrAlpha = layout.snrAlpha;
    config.synTimeout = layout.synTimeout;
    config.observe = layout.observe;
    config.serving = layout.serving;
}

/** A radio's defaults of the layout flags and their help texts. */
struct LayoutDefaults
{
    std::string area;       //!< --area
    double radius;          //!< --radius (m)
    double height;          //!< --height (m)
    std::string radiusHelp; //!< what --radius means for this radio
    std::string heightHelp; //!< what --height means for this radio
};

/** What a radio adds to the shared program: its flags, their rules and its network. */
class ScenarioProgram
{
  public:
    virtual ~ScenarioProgram() = default;
    /** The program's name, in messages and in the --check JSON ("edge-moe"). */
    virtual std::string Name() const = 0;
    /** One sentence for --help. */
    virtual std::string Usage() const = 0;
    /** The layout defaults of this radio. */
    virtual LayoutDefaults Layout() const = 0;
    /** Register the radio's own flags, each with its range. */
    virtual void AddFlags(FlagSet& flags) = 0;
    /** Check the rules between the radio's flags and resolve its defaults; ConfigError. */
    virtual void Validate(const ScenarioLayout& layout) = 0;
    /** Experts the radio adds after the --nodes ones (wired edge servers), once parsed. */
    virtual uint32_t WiredExperts() const
    {
        return 0;
    }
    /** Build the scenario (after Validate); creates the nodes and the network. */
    virtual std::unique_ptr<SteppedScenario> Build(const ScenarioLayout& layout) = 0;
};

/** --synTimeout: (0, 3600] s. */
inline constexpr Range kSynTimeoutRange{0, 3600, true};
/** --RngSeed: 1..4294967295 (ns-3 refuses 0). */
inline constexpr Range kRngSeedRange{1, 4294967295.0, false, true};
/** --RngRun: 0..1e15. */
inline constexpr Range kRngRunRange{0, 1e15, false, true};
/** --probeMaxAge: [0, 3600] s. */
inline constexpr Range kProbeMaxAgeRange{0, 3600};
/** --probeLead: (0, 60] s (an answer needs time to come back). */
inline constexpr Range kProbeLeadRange{0, 60, true};
/** --probeJitter: [0, 1] s, and below --probeLead (the answers come back before the decision). */
inline constexpr Range kProbeJitterRange{0, 1};
/** --probeAnswers: 1..16 frames per answer. */
inline constexpr Range kProbeAnswersRange{1, 16, false, true};
/** --probeRepairMax: [0, 60] s (0: a fixed repair interval). */
inline constexpr Range kProbeRepairMaxRange{0, 60};
/** --snrAlpha: (0, 1]. */
inline constexpr Range kSnrAlphaRange{0, 1, true};

/**
 * Parse and validate every flag, then (unless --check) build and run \p program's
 * scenario. Returns the exit status: 0, 2 for a bad flag value (one line on stderr),
 * 3 for a bridge error.
 */
int ScenarioMain(int argc, char* argv[], ScenarioProgram& program);

} // namespace netmoe

#endif /* NETMOE_SCENARIO_MAIN_H */
