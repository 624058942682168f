/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Flags with value rules on ns-3's CommandLine (see flag-set.h).
 */
#include "flag-set.h"

#include "ns3/callback.h"

#include <cstdio>

namespace netmoe
{

std::string
JsonString(const std::string& text)
{
    std::string out = "\"";
    for (unsigned char c : text)
    {
        if (c == '"' || c == '\\')
        {
            out += '\\';
            out += static_cast<char>(c);
        }
        else if (c < 0x20)
        {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", c);
            out += buf;
        }
        else
        {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

FlagSet::FlagSet(ns3::CommandLine& cmd)
    : m_cmd(cmd)
{
}

void
FlagSet::Register(const std::string& name,
                  const std::string& help,
                  std::function<void(const std::string&)> parse,
                  const std::string& defaultText,
                  std::function<std::string()> json)
{
    std::function<bool(const std::string&)> callback = [parse](const std::string& text) {
        parse(text); // throws ConfigError on a bad value
        return true;
    };
    m_cmd.AddValue(name, help, ns3::Callback<bool, const std::string&>(callback), defaultText);
    m_values.emplace_back(name, std::move(json));
}

std::string
FlagSet::WithRange(const std::string& help, const Range& range)
{
    return help + " (" + range.Text() + ")";
}

void
FlagSet::Add(const std::string& name, const std::string& help, double& value, const Range& range)
{
    Register(
        name,
        WithRange(help, range),
        [&value, name, range](const std::string& t) { value = ParseNumber(t, name, range); },
        FormatNumber(value),
        [&value]() { return FormatNumber(value); });
}

void
FlagSet::Add(const std::string& name, const std::string& help, uint32_t& value, const Range& range)
{
    AddInteger(name, help, value, range);
}

void
FlagSet::Add(const std::string& name, const std::string& help, int64_t& value, const Range& range)
{
    AddInteger(name, help, value, range);
}

void
FlagSet::Add(const std::string& name, const std::string& help, int& value, const Range& range)
{
    AddInteger(name, help, value, range);
}

void
FlagSet::Add(const std::string& name, const std::string& help, bool& value)
{
    Register(
        name,
        help,
        [&value, name](const std::string& t) { value = ParseBool(t, name, value); },
        value ? "true" : "false",
        [&value]() { return std::string(value ? "true" : "false"); });
}

void
FlagSet::Add(const std::string& name, const std::string& help, std::string& value)
{
    Register(
        name,
        help,
        [&value](const std::string& t) { value = t; },
        value,
        [&value]() { return JsonString(value); });
}

void
FlagSet::AddResolved(const std::string& name, std::function<std::string()> json)
{
    m_values.emplace_back(name, std::move(json));
}

std::string
FlagSet::Json(const std::string& program) const
{
    std::string out = "{\"program\": " + JsonString(program);
    for (const auto& [name, json] : m_values)
    {
        out += ", " + JsonString(name) + ": " + json();
    }
    return out + "}";
}

} // namespace netmoe
