/* SPDX-License-Identifier: GPL-2.0-only
 *
 * NetmoeReport as one line of JSON (standalone mode), generated from the X-macro field
 * list in messages.h so it always has every field. Per-expert arrays are cut to
 * num_experts, per-subtask arrays to num_subtasks; NaN becomes null. The serving
 * model's fields (NETMOE_REPORT_SERVING_FIELDS) only with \p serving, so that a run
 * without --serving prints what it printed before they existed.
 */
#ifndef NETMOE_REPORT_JSON_H
#define NETMOE_REPORT_JSON_H

#include "netmoe/messages.h"

#include <string>

namespace netmoe
{

/**
 * One JSON object, no newline: every field, but the serving model's only with \p serving
 * and the round's per-expert queue lengths only with \p round (several users).
 */
std::string ReportToJson(const NetmoeReport& report, bool serving = true, bool round = false);

} // namespace netmoe

#endif /* NETMOE_REPORT_JSON_H */
