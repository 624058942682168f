/* SPDX-License-Identifier: GPL-2.0-only
 *
 * netmoe scenario defaults: the one place where the default value of every scenario flag
 * that Python also configures is written. The scenario programs (ns3_scenarios/) take
 * their defaults from here, and pybridge reads this file for the defaults of its config.
 *
 * Format (keep it: Python parses it with one regular expression):
 *  - one entry per line, `  X(name, value) \` inside NETMOE_SCENARIO_DEFAULTS;
 *  - name is the program's flag name (without "--"); an LTE flag whose name edge-moe
 *    also has takes the prefix "lte" (lteExponent is edge-moe-lte's --exponent);
 *  - value is a number (booleans: 1 or 0) or a "double-quoted string" without quotes
 *    or backslashes inside;
 *  - band80211ax, band80211ac, ... are not flags: the default --band of each standard
 *    (edge-moe's --band default is its --standard's band);
 *  - <model>_<key> (randomWalk_speed, ...) are not flags either: the default of a mobility
 *    model's parameter in --nodes (the model's name in camelCase);
 *  - userSpread is not a flag: the radius (m) of the circle that --numUsers copies of the
 *    user stand on when --nodes is not given (Python's scenario.user_spread_m).
 *  - probeAnswerSpacing is not a flag: seconds between the frames of one probe answer
 *    (--probeAnswers; probes.h).
 * Python's regex: ^\s*X\((\w+),\s*("[^"]*"|[-+0-9.eE]+)\)
 *
 * Value rules (ranges, allowed names) are not here: the programs own them, and
 * `edge-moe --check ...` / `edge-moe-lte --check ...` apply them (docs/scenarios.md).
 */
#ifndef NETMOE_SCENARIO_DEFAULTS_H
#define NETMOE_SCENARIO_DEFAULTS_H

#define NETMOE_SCENARIO_DEFAULTS(X)                                                      \
  /* both programs: layout, timing, TCP */                                              \
  X(numExperts, 3)                                                                      \
  X(userSpread, 3.0)                                                                    \
  X(warmup, 1.0)                                                                        \
  X(synTimeout, 1.0)                                                                    \
  X(snrAlpha, 0.3)                                                                      \
  X(observe, "heartbeat")                                                                 \
  X(probeMaxAge, 0.1)                                                                   \
  X(probeLead, 0.02)                                                                    \
  X(probeJitter, 0.01)                                                                  \
  X(probeAnswers, 4)                                                                    \
  X(probeAnswerSpacing, 0.001)                                                          \
  X(probeRepairMax, 0.08)                                                               \
  /* both programs: experts as LLM servers (serving-profile.h); profiles measured by   */ \
  /* `bench/llm_rates.py profile` (llama.cpp, SmolLM2-135M, 2 cores, 2026-12-06,      */ \
  /* 18dbfe0): prefill 225 tokens/s, decode per sequence 94/68/48/34 with 1-4 at once */ \
  X(serving, 0)                                                                         \
  X(expertProfiles, "prefill=225,decode=94/68/48/34,slots=2,queue=8")                    \
  X(localProfile, "prefill=225,decode=94,slots=1,queue=16")                              \
  X(streaming, 1)                                                                       \
  X(tokensPerChunk, 1)                                                                  \
  X(chunkOverheadBytes, 258)                                                            \
  /* mobility models' parameters (--nodes "x,y,z|model|key=value"), <model>_<key> */     \
  X(randomWalk_speed, 1.0)                                                              \
  X(randomWalk_distance, 5.0)                                                           \
  X(randomWaypoint_speed, 2.0)                                                          \
  X(randomWaypoint_minSpeed, 0.5)                                                       \
  X(randomWaypoint_pause, 2.0)                                                          \
  X(constantVelocity_vx, 0.0)                                                           \
  X(constantVelocity_vy, 0.0)                                                           \
  X(gaussMarkov_speed, 1.0)                                                             \
  X(gaussMarkov_alpha, 0.85)                                                            \
  /* edge-moe (Wi-Fi) */                                                                \
  X(area, "-50,50,-50,50")                                                              \
  X(radius, 10.0)                                                                       \
  X(height, 1.0)                                                                        \
  X(standard, "80211ax")                                                                \
  X(band80211ax, 5)                                                                     \
  X(band80211ac, 5)                                                                     \
  X(band80211n, 5)                                                                      \
  X(band80211g, 2.4)                                                                    \
  X(band80211a, 5)                                                                      \
  X(channelWidth, 20)                                                                   \
  X(rateManager, "ns3::IdealWifiManager")                                               \
  X(txPowerDbm, 20.0)                                                                   \
  X(lowAckThreshold, 50)                                                                \
  X(keepStaticArp, 1)                                                                   \
  X(propagation, "logdistance")                                                         \
  X(exponent, 3.0)                                                                      \
  X(referenceLoss, 46.67)                                                               \
  X(nakagami, 0)                                                                        \
  X(nakagamiM, 1.0)                                                                     \
  X(wallLossDb, 5.0)                                                                    \
  X(shadowSigmaDb, 8.0)                                                                 \
  X(buildingType, "residential")                                                        \
  X(rooms, "1,1")                                                                       \
  X(floors, 1)                                                                          \
  X(heartbeatBytes, 64)                                                                 \
  X(heartbeatInterval, 0.1)                                                             \
  X(bgStations, 0)                                                                      \
  X(bgLoadMbps, 0.0)                                                                    \
  X(bgAp, "0,0,1")                                                                      \
  X(bgRadius, 5.0)                                                                      \
  X(bgPacketBytes, 1200)                                                                \
  /* edge-moe: topology (docs/scenario.md, Topology) */                                 \
  X(topology, "direct")                                                                 \
  X(apPosition, "0,0,2.5")                                                              \
  /* both programs: wired edge servers (edge-moe: AP gateway; LTE: the PGW) */          \
  X(wiredServers, 0)                                                                    \
  X(wiredLink, "csma")                                                                  \
  X(wiredRate, "1Gbps")                                                                 \
  X(wiredDelay, 0.0005)                                                                 \
  /* edge-moe-lte (LTE) */                                                              \
  X(lteArea, "-1000,1000,-1000,1000")                                                   \
  X(lteRadius, 200.0)                                                                   \
  X(lteHeight, 1.5)                                                                     \
  X(enb, "0,0,30")                                                                      \
  X(bandwidthRbs, 25)                                                                   \
  X(earfcn, 100)                                                                        \
  X(enbTxPowerDbm, 43.0)                                                                \
  X(ueTxPowerDbm, 23.0)                                                                 \
  X(scheduler, "pf")                                                                    \
  X(ltePropagation, "logdistance")                                                      \
  X(lteExponent, 3.76)                                                                  \
  X(lteReferenceLoss, 15.3)                                                             \
  X(rlcMode, "am")                                                                      \
  X(rlcBufferBytes, 131072)                                                             \
  X(cellLoadUes, 0)                                                                     \
  X(cellLoadMbps, 0.0)                                                                  \
  X(cellLoadRadius, 150.0)                                                              \
  X(cellLoadPacketBytes, 1200)                                                          \
  X(ueBaseW, 1.0)                                                                       \
  X(ueTxW, 1.5)                                                                         \
  X(ueRxW, 0.5)

#ifdef __cplusplus
namespace netmoe
{
/** The defaults as constants: netmoe::defaults::referenceLoss, ... */
namespace defaults
{
#define NETMOE_DEFAULT_CONSTANT(name, value) inline constexpr auto name = value;
NETMOE_SCENARIO_DEFAULTS(NETMOE_DEFAULT_CONSTANT)
#undef NETMOE_DEFAULT_CONSTANT
} // namespace defaults
} // namespace netmoe
#endif

#endif /* NETMOE_SCENARIO_DEFAULTS_H */
