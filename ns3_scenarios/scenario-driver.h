/* SPDX-License-Identifier: GPL-2.0-only
 *
 * What every netmoe scenario program shares, whatever its radio: the stepped-scenario
 * interface (one generative task per step), the standalone flags and script
 * (--standalone, --tasks, --script, ...), the bridge flags (--bridgeFd, ...), and the
 * two loops that drive a scenario: scripted tasks printed as JSON lines, or actions
 * from Python over the shared-memory bridge.
 */
#ifndef NETMOE_SCENARIO_DRIVER_H
#define NETMOE_SCENARIO_DRIVER_H

#include "netmoe/messages.h"
#include "netmoe/scenario-defaults.h"

#include "flag-set.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace netmoe
{

/**
 * A scenario stepped one round at a time (edge-moe, edge-moe-lte): in a round each of its
 * NumUsers() user devices runs one generative task (user u's action and report at index
 * u of the arrays passed).
 */
class SteppedScenario
{
  public:
    virtual ~SteppedScenario() = default;
    /** The number of user devices M (1..NETMOE_MAX_USERS). */
    virtual uint32_t NumUsers() const = 0;
    /** Run the simulation for \p seconds (warm-up, gaps). */
    virtual void Advance(double seconds) = 0;
    /** An error message for a user's action this scenario cannot run, or "" if it is valid. */
    virtual std::string CheckAction(const NetmoeAction& action) const = 0;
    /**
     * Run one round (every user's task), fill each user's measurements, advance
     * actions[0].next_gap_s, fill each user's observation.
     */
    virtual void Step(const NetmoeAction* actions, NetmoeReport* reports) = 0;
    /** Fill every user's observation part (status, times, obs_*, distance_m) now. */
    virtual void Observe(NetmoeReport* reports, uint32_t status) = 0;
    /** Write optional outputs; called once before the simulator is destroyed. */
    virtual void Finish() = 0;

    /**
     * More state a long run should keep flat, appended to --progressEvery's line
     * (", <value> <what>"); "" by default.
     */
    virtual std::string ProgressNote() const
    {
        return "";
    }
};

/** The flags of the standalone and bridge modes, and the parsed standalone script. */
struct DriverOptions
{
    std::string program;            //!< name in messages ("edge-moe")
    double warmup{defaults::warmup}; //!< simulated seconds before the first observation
    int bridgeFd{-1};               //!< shared-memory descriptor passed by pybridge
    std::string bridgeName;         //!< or a named POSIX segment
    double spinUs{50.0};            //!< longest busy-poll before sleeping (us)
    double bridgeTimeout{600.0};    //!< longest wait for Python's next action (s)
    bool standalone{false};         //!< scripted tasks, JSON lines on stdout
    uint32_t tasks{5};              //!< standalone: number of tasks
    std::string script;             //!< standalone: targets per task
    std::string userOffsets{"0"};   //!< standalone: each user's task start in a round (s)
    std::string requestBytes{"200"};
    std::string replyBytes{"1500"};
    std::string computeS{"0.2"};
    std::string promptTokens{"64"};  //!< --serving: prompt tokens per subtask
    std::string replyTokens{"128"};  //!< --serving: reply tokens per subtask
    std::string fusionTokens{"0,0"}; //!< --serving: fusion prompt,reply tokens
    bool serving{false};             //!< set by the program: print the serving fields
    double deadline{5.0};
    double gap{1.0};
    uint32_t progressEvery{0}; //!< standalone: diagnostic line every N tasks (0: none)

    /** Register the flags on \p flags (before Parse). */
    void AddTo(FlagSet& flags);

    /**
     * Check the mode (unless \p checkOnly: a --check run needs none) and parse the
     * standalone script for \p numExperts experts; ConfigError on a bad value. Call before
     * building any network.
     */
    void Prepare(uint32_t numExperts, bool checkOnly);

    std::vector<std::vector<int>> plan; //!< targets per task (parsed --script)
    std::vector<double> req;            //!< parsed --requestBytes
    std::vector<double> rep;            //!< parsed --replyBytes
    std::vector<double> comp;           //!< parsed --computeS
    std::vector<double> prompt;         //!< parsed --promptTokens
    std::vector<double> reply;          //!< parsed --replyTokens
    std::vector<double> fusion;         //!< parsed --fusionTokens (2 numbers)
    std::vector<double> offsets;        //!< parsed --userOffsets
};

/** --warmup: [0, 3600] s. */
inline constexpr Range kWarmupRange{0, 3600};
/** A request or reply size of the standalone script: 0..1e8 bytes (0 is sent as 1). */
inline constexpr Range kMessageBytesRange{0, 1e8, false, true};
/** Tokens of a standalone subtask or fusion: 0..1e7 (a reply of 0 is generated as 1). */
inline constexpr Range kTokensRange{0, 1e7, false, true};

/**
 * Standalone: warm up, run the scripted tasks (JSON lines); Finish() and destroy the
 * simulator. Returns the process exit status (0).
 */
int RunScenario(SteppedScenario& scenario, const DriverOptions& options);

/**
 * Serve Python over the bridge, one forked child per episode (ScenarioBridge::NextEpisode):
 * the child sets the episode's run number, calls \p build, warms up and serves actions
 * until RESET or STOP. Returns the exit status: 0, or 3 on a bridge error.
 */
int ServeBridge(const std::function<std::unique_ptr<SteppedScenario>()>& build,
                const DriverOptions& options);

} // namespace netmoe

#endif /* NETMOE_SCENARIO_DRIVER_H */
