/* SPDX-License-Identifier: GPL-2.0-only
 *
 * JSON rendering of NetmoeReport (see report-json.h).
 */
#include "report-json.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace netmoe
{

static_assert(NETMOE_MAX_EXPERTS != NETMOE_MAX_SUBTASKS,
              "array lengths tell per-expert from per-subtask fields");

namespace
{

void
Put(std::string& out, double v)
{
    if (!std::isfinite(v))
    {
        out += "null";
        return;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.10g", v);
    out += buf;
}

void
Put(std::string& out, uint64_t v)
{
    out += std::to_string(v);
}

void
Put(std::string& out, uint32_t v)
{
    out += std::to_string(v);
}

/** Whether \p name is one of the serving model's fields. */
bool
IsServingField(const char* name)
{
#define NETMOE_SERVING_NAME(ctype, code, field, ...) #field,
    static const char* const kNames[] = {
        NETMOE_REPORT_SERVING_FIELDS(NETMOE_SERVING_NAME, NETMOE_SERVING_NAME)};
#undef NETMOE_SERVING_NAME
    for (const char* n : kNames)
    {
        if (std::strcmp(n, name) == 0)
        {
            return true;
        }
    }
    return false;
}

/** Whether \p name is one of the round's fields (several users). */
bool
IsRoundField(const char* name)
{
#define NETMOE_ROUND_NAME(ctype, code, field, ...) #field,
    static const char* const kNames[] = {
        NETMOE_REPORT_ROUND_FIELDS(NETMOE_ROUND_NAME, NETMOE_ROUND_NAME)};
#undef NETMOE_ROUND_NAME
    for (const char* n : kNames)
    {
        if (std::strcmp(n, name) == 0)
        {
            return true;
        }
    }
    return false;
}

} // namespace

std::string
ReportToJson(const NetmoeReport& r, bool serving, bool round)
{
    std::string out = "{";
    bool first = true;
    auto key = [&](const char* name) {
        out += first ? "\"" : ", \"";
        out += name;
        out += "\": ";
        first = false;
    };
#define NETMOE_JSON_SCALAR(ctype, code, name)                                                     \
    if ((serving || !IsServingField(#name)) && (round || !IsRoundField(#name)))                   \
    {                                                                                             \
        key(#name);                                                                               \
        Put(out, r.name);                                                                         \
    }
#define NETMOE_JSON_ARRAY(ctype, code, name, count)                                               \
    if ((serving || !IsServingField(#name)) && (round || !IsRoundField(#name)))                   \
    {                                                                                             \
        key(#name);                                                                               \
        const uint32_t n = (count) == NETMOE_MAX_EXPERTS ? r.num_experts : r.num_subtasks;       \
        out += "[";                                                                               \
        for (uint32_t i = 0; i < n && i < (count); ++i)                                           \
        {                                                                                         \
            if (i)                                                                                \
                out += ", ";                                                                      \
            Put(out, r.name[i]);                                                                  \
        }                                                                                         \
        out += "]";                                                                               \
    }
    NETMOE_REPORT_FIELDS(NETMOE_JSON_SCALAR, NETMOE_JSON_ARRAY)
#undef NETMOE_JSON_SCALAR
#undef NETMOE_JSON_ARRAY
    out += "}";
    return out;
}

} // namespace netmoe
