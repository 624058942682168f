/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Flag values and their ranges (see flag-parse.h).
 */
#include "flag-parse.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace netmoe
{

ConfigError::ConfigError(const std::string& flag, const std::string& problem)
    : std::runtime_error("--" + flag + ": " + problem),
      m_flag(flag),
      m_problem(problem)
{
}

const std::string&
ConfigError::Flag() const
{
    return m_flag;
}

const std::string&
ConfigError::Problem() const
{
    return m_problem;
}

std::string
FormatNumber(double v)
{
    if (std::isnan(v))
    {
        return "nan";
    }
    if (std::isinf(v))
    {
        return v > 0 ? "inf" : "-inf";
    }
    char buf[64];
    if (v == std::floor(v) && std::fabs(v) < 1e15)
    {
        std::snprintf(buf, sizeof(buf), "%.0f", v);
        return buf;
    }
    auto res = std::to_chars(buf, buf + sizeof(buf), v);
    return std::string(buf, res.ptr);
}

std::string
Range::Text() const
{
    if (whole)
    {
        return FormatNumber(lo) + ".." + FormatNumber(hi);
    }
    return std::string(loOpen ? "(" : "[") + FormatNumber(lo) + ", " + FormatNumber(hi) + "]";
}

std::string
Range::Problem(double v, const std::string& text) const
{
    const bool inside = std::isfinite(v) && (loOpen ? v > lo : v >= lo) && v <= hi &&
                        (!whole || v == std::floor(v));
    if (inside)
    {
        return "";
    }
    return "must be " + std::string(whole ? "a whole number in " : "in ") + Text() + ", got " +
           (text.empty() ? FormatNumber(v) : Trim(text));
}

std::string
Trim(const std::string& s)
{
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos)
    {
        return "";
    }
    const auto e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
}

std::vector<std::string>
Split(const std::string& text, char sep)
{
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(text);
    while (std::getline(in, item, sep))
    {
        out.push_back(item);
    }
    if (!text.empty() && text.back() == sep)
    {
        out.emplace_back();
    }
    return out;
}

namespace
{

std::string
Prefixed(const std::string& what, const std::string& problem)
{
    return what.empty() ? problem : what + ": " + problem;
}

} // namespace

double
ParseNumber(const std::string& text,
            const std::string& flag,
            const Range& range,
            const std::string& what)
{
    const std::string t = Trim(text);
    double v = 0;
    bool ok = !t.empty();
    if (ok)
    {
        try
        {
            size_t used = 0;
            v = std::stod(t, &used);
            ok = used == t.size();
        }
        catch (const std::exception&)
        {
            ok = false;
        }
    }
    if (!ok || !std::isfinite(v))
    {
        throw ConfigError(flag,
                          Prefixed(what, "'" + text + "' is not a finite number (allowed: " +
                                             range.Text() + ")"));
    }
    const std::string problem = range.Problem(v, text);
    if (!problem.empty())
    {
        throw ConfigError(flag, Prefixed(what, problem));
    }
    return v;
}

std::vector<double>
ParseNumbers(const std::string& text, const std::string& flag, const Range& range, size_t count)
{
    if (Trim(text).empty())
    {
        throw ConfigError(flag, "is empty (allowed: " +
                                    (count ? std::to_string(count) + " " : std::string()) +
                                    "comma-separated numbers in " + range.Text() + ")");
    }
    std::vector<double> out;
    for (const auto& item : Split(text, ','))
    {
        out.push_back(ParseNumber(item, flag, range));
    }
    if (count != 0 && out.size() != count)
    {
        throw ConfigError(flag, "needs " + std::to_string(count) +
                                    " comma-separated numbers, got '" + text + "'");
    }
    return out;
}

ns3::Vector
ParsePosition(const std::string& text, const std::string& flag)
{
    if (Split(text, ',').size() != 3)
    {
        throw ConfigError(flag, "must be x,y,z, got '" + text + "'");
    }
    auto v = ParseNumbers(text, flag, kCoordinateRange, 3);
    return ns3::Vector(v[0], v[1], v[2]);
}

int64_t
ParseInteger(const std::string& text, const std::string& flag, const Range& range)
{
    const std::string t = Trim(text);
    int64_t v = 0;
    auto res = std::from_chars(t.data() + (!t.empty() && t[0] == '+'), t.data() + t.size(), v);
    if (t.empty() || res.ec != std::errc() || res.ptr != t.data() + t.size())
    {
        throw ConfigError(flag, "'" + text + "' is not a whole number (allowed: " + range.Text() +
                                    ")");
    }
    const std::string problem = range.Problem(static_cast<double>(v), text);
    if (!problem.empty())
    {
        throw ConfigError(flag, problem);
    }
    return v;
}

bool
ParseBool(const std::string& text, const std::string& flag, bool current)
{
    if (text.empty())
    {
        return !current;
    }
    std::string t = text;
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    if (t == "true" || t == "t" || t == "1")
    {
        return true;
    }
    if (t == "false" || t == "f" || t == "0")
    {
        return false;
    }
    throw ConfigError(flag, "'" + text + "' is not a boolean (allowed: 1, 0, true, false)");
}

void
CheckRange(const std::string& flag, double v, const Range& range)
{
    const std::string problem = range.Problem(v);
    if (!problem.empty())
    {
        throw ConfigError(flag, problem);
    }
}

} // namespace netmoe
