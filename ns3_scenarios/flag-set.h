/* SPDX-License-Identifier: GPL-2.0-only
 *
 * FlagSet: a scenario program's flags, registered on ns-3's CommandLine with their value
 * rules. Every value is parsed by flag-parse.h (whole text, finite, inside its range,
 * said in the help) and a bad one throws ConfigError from CommandLine::Parse, so no flag
 * reaches ns-3's own multi-line "Invalid command-line argument" exit. After validation,
 * Json() renders the resolved value of every flag (the --check output).
 */
#ifndef NETMOE_FLAG_SET_H
#define NETMOE_FLAG_SET_H

#include "flag-parse.h"

#include "ns3/command-line.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace netmoe
{

/** The flags of one program, with their rules and their resolved values. */
class FlagSet
{
  public:
    /** Register on \p cmd (which must outlive this set's Parse). */
    explicit FlagSet(ns3::CommandLine& cmd);

    /** A real number in \p range. */
    void Add(const std::string& name, const std::string& help, double& value, const Range& range);
    /** A whole number in \p range. */
    void Add(const std::string& name, const std::string& help, uint32_t& value, const Range& range);
    /** A signed whole number in \p range (int64_t is long here: --lowAckThreshold). */
    void Add(const std::string& name, const std::string& help, int64_t& value, const Range& range);
    /** A signed whole number in \p range. */
    void Add(const std::string& name, const std::string& help, int& value, const Range& range);
    /** A boolean (1/0/true/false; the bare flag toggles). */
    void Add(const std::string& name, const std::string& help, bool& value);
    /** A string, checked by the program's validation. */
    void Add(const std::string& name, const std::string& help, std::string& value);

    /** An extra resolved value in Json() that is not a flag: \p json returns its JSON text. */
    void AddResolved(const std::string& name, std::function<std::string()> json);

    /** One JSON object: "program" then every flag's current value, in registration order. */
    std::string Json(const std::string& program) const;

  private:
    void Register(const std::string& name,
                  const std::string& help,
                  std::function<void(const std::string&)> parse,
                  const std::string& defaultText,
                  std::function<std::string()> json);

    /** \p help followed by the allowed range, as --help shows it. */
    static std::string WithRange(const std::string& help, const Range& range);

    /** The whole-number overloads of Add: parse as int64 in \p range, store as \p Int. */
    template <class Int>
    void AddInteger(const std::string& name,
                    const std::string& help,
                    Int& value,
                    const Range& range)
    {
        Register(
            name,
            WithRange(help, range),
            [&value, name, range](const std::string& t) {
                value = static_cast<Int>(ParseInteger(t, name, range));
            },
            std::to_string(value),
            [&value]() { return std::to_string(value); });
    }

    ns3::CommandLine& m_cmd;
    std::vector<std::pair<std::string, std::function<std::string()>>> m_values;
};

/** \p text as a JSON string literal. */
std::string JsonString(const std::string& text);

} // namespace netmoe

#endif /* NETMOE_FLAG_SET_H */
