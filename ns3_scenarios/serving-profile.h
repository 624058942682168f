/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Serving profiles: how fast a device generates with an LLM server, and the flags that
 * give them (--serving, --expertProfiles, --localProfile, --streaming, --tokensPerChunk,
 * --chunkOverheadBytes), shared by every scenario program.
 *
 * A profile is "prefill=250,decode=101/75/52/39,slots=2,queue=8":
 *  - prefill: prompt tokens/s (one batch of the whole prompt);
 *  - decode: tokens/s of one generation while 1, 2, 3, ... generations decode at once on
 *    the device (the last value repeats): a batching server's per-sequence rate;
 *  - slots: concurrent generations (a llama.cpp server's --parallel);
 *  - queue: FIFO capacity of requests waiting for a slot (0: no waiting room; a request
 *    that finds every slot busy and the queue full is rejected).
 * --expertProfiles holds one profile per expert separated by ';', or one for all.
 */
#ifndef NETMOE_SERVING_PROFILE_H
#define NETMOE_SERVING_PROFILE_H

#include "flag-set.h"

#include <cstdint>
#include <string>
#include <vector>

namespace netmoe
{

/** One device's LLM server. */
struct ServingProfile
{
    double prefillTokS{0};          //!< prompt tokens per second
    std::vector<double> decodeTokS; //!< per-sequence tokens/s with 1, 2, ... generations
    uint32_t slots{1};              //!< concurrent generations
    uint32_t queue{0};              //!< waiting requests the FIFO holds

    /** Per-sequence decode rate (tokens/s) while \p n >= 1 generations decode. */
    double DecodeRate(uint32_t n) const;
};

/**
 * Parse one profile; ConfigError for \p flag naming the problem (unknown or missing key,
 * a rate that is not a number > 0, zero slots, ...).
 */
ServingProfile ParseServingProfile(const std::string& text, const std::string& flag);

/** The serving model of the tasks (all off: an expert waits the action's compute_s). */
struct ServingConfig
{
    bool enabled{false};                  //!< --serving
    std::vector<ServingProfile> experts;  //!< one per expert (resolved)
    ServingProfile local;                 //!< the user device's own generation
    bool streaming{true};                 //!< reply streamed in chunks while decoding
    uint32_t tokensPerChunk{1};           //!< tokens per streamed chunk
    uint32_t chunkOverheadBytes{0};       //!< framing bytes per chunk
};

/** The serving flags as written, registered on a FlagSet and resolved for N experts. */
struct ServingOptions
{
    bool serving;
    std::string expertProfiles;
    std::string localProfile;
    bool streaming;
    uint32_t tokensPerChunk;
    uint32_t chunkOverheadBytes;

    /** The defaults (scenario-defaults.h). */
    ServingOptions();
    /** Register the flags. */
    void AddTo(FlagSet& flags);
    /** Parse the profiles for \p numExperts experts; ConfigError on a bad one. */
    ServingConfig Resolve(uint32_t numExperts) const;
};

/** --tokensPerChunk: 1..1e6. */
inline constexpr Range kTokensPerChunkRange{1, 1e6, false, true};
/** --chunkOverheadBytes: 0..65536. */
inline constexpr Range kChunkOverheadRange{0, 65536, false, true};

} // namespace netmoe

#endif /* NETMOE_SERVING_PROFILE_H */
