/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The one parser of flag values in netmoe's scenario programs: numbers, number lists,
 * positions, booleans, the value ranges they must lie in, and ConfigError, the one-line
 * error that every value rule throws ("<program>: --<flag>: <problem>", exit status 2;
 * see scenario-main.h). No ns-3 dependency beyond ns3::Vector.
 */
#ifndef NETMOE_FLAG_PARSE_H
#define NETMOE_FLAG_PARSE_H

#include "ns3/vector.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace netmoe
{

/** A bad flag value: the flag (without "--") and what is wrong with it, one line. */
class ConfigError : public std::runtime_error
{
  public:
    /** \p flag without "--"; \p problem names the bad value and what is allowed. */
    ConfigError(const std::string& flag, const std::string& problem);
    /** The flag, without "--". */
    const std::string& Flag() const;
    /** What is wrong, with the bad value and the allowed range. */
    const std::string& Problem() const;

  private:
    std::string m_flag;
    std::string m_problem;
};

/** The values a number may take: an interval, optionally of whole numbers only. */
struct Range
{
    double lo;           //!< lower bound
    double hi;           //!< upper bound
    bool loOpen{false};  //!< lo itself excluded
    bool whole{false};   //!< whole numbers only

    /** "0..64" (whole), "[0, 1]", "(0, 8]". */
    std::string Text() const;
    /**
     * "" if \p v is finite and inside, else the problem ("must be in (0, 8], got 9"),
     * quoting \p text (the value as written) if given.
     */
    std::string Problem(double v, const std::string& text = "") const;
};

/** Largest |coordinate| of a position or area bound (m). */
constexpr double kMaxCoordinate = 1e5;
/** The range of a coordinate (m). */
inline constexpr Range kCoordinateRange{-kMaxCoordinate, kMaxCoordinate};

/** Shortest text that reads back as \p v (46.67, 100000, 1e+20, nan). */
std::string FormatNumber(double v);

/** \p text without leading and trailing blanks. */
std::string Trim(const std::string& text);

/** \p text split at \p sep; a trailing separator gives a last empty item. */
std::vector<std::string> Split(const std::string& text, char sep);

/**
 * A finite number (the whole of \p text, blanks around allowed), inside \p range;
 * ConfigError for \p flag otherwise. \p what prefixes the problem ("node 1 (expert 1):
 * speed"), empty for the flag itself.
 */
double ParseNumber(const std::string& text,
                   const std::string& flag,
                   const Range& range,
                   const std::string& what = "");

/**
 * Comma-separated numbers, each inside \p range; exactly \p count of them (0: one or
 * more). ConfigError for \p flag on an empty, non-numeric, non-finite or outside item.
 */
std::vector<double> ParseNumbers(const std::string& text,
                                 const std::string& flag,
                                 const Range& range,
                                 size_t count = 0);

/** A position "x,y,z" (m), each coordinate within +-kMaxCoordinate. */
ns3::Vector ParsePosition(const std::string& text, const std::string& flag);

/** A whole number inside \p range (no fraction, no exponent). */
int64_t ParseInteger(const std::string& text, const std::string& flag, const Range& range);

/**
 * A boolean as ns-3's CommandLine reads it: true/t/1, false/f/0 (any case); an empty
 * value toggles \p current.
 */
bool ParseBool(const std::string& text, const std::string& flag, bool current);

/** ConfigError for \p flag unless \p v is inside \p range. */
void CheckRange(const std::string& flag, double v, const Range& range);

} // namespace netmoe

#endif /* NETMOE_FLAG_PARSE_H */
