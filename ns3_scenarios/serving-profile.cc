/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Serving profiles and their flags (see serving-profile.h).
 */
#include "serving-profile.h"

#include "netmoe/scenario-defaults.h"

#include <algorithm>
#include <map>

namespace netmoe
{

namespace
{
/** A rate in tokens/s: > 0, at most 1e9. */
constexpr Range kRateRange{0, 1e9, true};
/** Batch slots: 1..1024. */
constexpr Range kSlotsRange{1, 1024, false, true};
/** Queue capacity: 0..1e6. */
constexpr Range kQueueRange{0, 1e6, false, true};
} // namespace

double
ServingProfile::DecodeRate(uint32_t n) const
{
    const size_t i = std::min<size_t>(std::max<uint32_t>(n, 1), decodeTokS.size()) - 1;
    return decodeTokS.at(i);
}

ServingProfile
ParseServingProfile(const std::string& text, const std::string& flag)
{
    const std::string quoted = "profile '" + text + "'";
    std::map<std::string, std::string> keys;
    for (const auto& item : Split(text, ','))
    {
        const size_t eq = item.find('=');
        if (eq == std::string::npos)
        {
            throw ConfigError(flag, quoted + ": '" + item +
                                        "' is not key=value (keys: prefill, decode, slots, "
                                        "queue)");
        }
        const std::string key = Trim(item.substr(0, eq));
        if (key != "prefill" && key != "decode" && key != "slots" && key != "queue")
        {
            throw ConfigError(flag, quoted + ": unknown key '" + key +
                                        "' (keys: prefill, decode, slots, queue)");
        }
        if (!keys.emplace(key, item.substr(eq + 1)).second)
        {
            throw ConfigError(flag, quoted + ": " + key + " given twice");
        }
    }
    for (const char* key : {"prefill", "decode", "slots", "queue"})
    {
        if (!keys.count(key))
        {
            throw ConfigError(flag, quoted + ": " + key + " is missing");
        }
    }
    ServingProfile p;
    p.prefillTokS = ParseNumber(keys["prefill"], flag, kRateRange, quoted + ": prefill");
    std::vector<std::string> rates = Split(keys["decode"], '/');
    if (rates.empty())
    {
        rates.emplace_back(); // "decode=": refused below as not a number
    }
    for (const auto& rate : rates)
    {
        p.decodeTokS.push_back(ParseNumber(rate, flag, kRateRange, quoted + ": decode"));
    }
    p.slots = static_cast<uint32_t>(ParseNumber(keys["slots"], flag, kSlotsRange, quoted + ": slots"));
    p.queue = static_cast<uint32_t>(ParseNumber(keys["queue"], flag, kQueueRange, quoted + ": queue"));
    return p;
}

ServingOptions::ServingOptions()
    : serving(defaults::serving != 0),
      expertProfiles(defaults::expertProfiles),
      localProfile(defaults::localProfile),
      streaming(defaults::streaming != 0),
      tokensPerChunk(defaults::tokensPerChunk),
      chunkOverheadBytes(defaults::chunkOverheadBytes)
{
}

void
ServingOptions::AddTo(FlagSet& flags)
{
    flags.Add("serving",
              "experts are LLM servers (queue, prefill, decode; the action's tokens); 0: an "
              "expert waits the action's compute_s",
              serving);
    flags.Add("expertProfiles",
              "--serving: 'prefill=TOK/S,decode=TOK/S[/TOK/S...],slots=N,queue=N' per expert, "
              "separated by ';' (or one for all); decode: per-sequence rate with 1, 2, ... "
              "generations at once, the last repeats",
              expertProfiles);
    flags.Add("localProfile",
              "--serving: the user device's own generation, same form (its queue is not "
              "bounded: it never refuses its own subtasks)",
              localProfile);
    flags.Add("streaming",
              "--serving: stream the reply in chunks while decoding (0: whole reply at the end)",
              streaming);
    flags.Add("tokensPerChunk", "--serving --streaming: tokens per streamed chunk", tokensPerChunk,
              kTokensPerChunkRange);
    flags.Add("chunkOverheadBytes",
              "--serving --streaming: framing bytes per chunk (default: an OpenAI "
              "chat.completion.chunk server-sent event in HTTP/1.1 chunked encoding)",
              chunkOverheadBytes, kChunkOverheadRange);
}

ServingConfig
ServingOptions::Resolve(uint32_t n) const
{
    ServingConfig c;
    c.enabled = serving;
    c.streaming = streaming;
    c.tokensPerChunk = tokensPerChunk;
    c.chunkOverheadBytes = chunkOverheadBytes;
    std::vector<std::string> texts = Split(expertProfiles, ';');
    if (texts.size() != 1 && texts.size() != n)
    {
        throw ConfigError("expertProfiles", "needs one profile or one per expert (" +
                                                std::to_string(n) + "), got " +
                                                std::to_string(texts.size()));
    }
    for (uint32_t e = 0; e < n; ++e)
    {
        c.experts.push_back(ParseServingProfile(texts[texts.size() == 1 ? 0 : e],
                                                "expertProfiles"));
    }
    c.local = ParseServingProfile(localProfile, "localProfile");
    return c;
}

} // namespace netmoe
