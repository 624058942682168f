/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The rules of a task action (Python's over the bridge, or the standalone script's):
 * targets, compute times, deadline and gap. The standalone flags --deadline, --gap and
 * --computeS use the same ranges, so `--check --deadline=X --gap=Y` answers for an
 * action's deadline_s and next_gap_s.
 */
#ifndef NETMOE_TASK_ACTION_CHECK_H
#define NETMOE_TASK_ACTION_CHECK_H

#include "flag-parse.h"

#include "netmoe/messages.h"

#include <string>

namespace netmoe
{

/** deadline_s: (0, 1 day] (s). */
inline constexpr Range kDeadlineRange{0, 86400, true};
/** next_gap_s: [0, 1 day] (s). */
inline constexpr Range kGapRange{0, 86400};
/** compute_s: an expert's generation time, [0, 1 day] (s). */
inline constexpr Range kComputeRange{0, 86400};
/** start_offset_s: a user's task start after the round's, [0, 1 hour] (s). */
inline constexpr Range kStartOffsetRange{0, 3600};

/** Check an action against \p numExperts experts: an error message, or "" if valid. */
std::string CheckTaskAction(const NetmoeAction& action, uint32_t numExperts);

} // namespace netmoe

#endif /* NETMOE_TASK_ACTION_CHECK_H */
