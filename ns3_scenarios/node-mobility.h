/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Per-node mobility for the edge-moe scenario: parses the --nodes specification
 * ("x,y,z|model|key=val,...;...") and installs one ns-3 mobility model per node.
 */
#ifndef NETMOE_NODE_MOBILITY_H
#define NETMOE_NODE_MOBILITY_H

#include "ns3/command-line.h"
#include "ns3/node-container.h"
#include "ns3/vector.h"

#include <map>
#include <string>
#include <vector>

namespace netmoe
{

/** Rectangle that bounds the random mobility models (--area). */
struct Area
{
    double xMin{-50};
    double xMax{50};
    double yMin{-50};
    double yMax{50};
};

/** One node's position and mobility model, as written in --nodes. */
struct NodeSpec
{
    ns3::Vector position;                 //!< initial position (m)
    std::string model{"constant"};        //!< constant, random-walk, random-waypoint, ...
    std::map<std::string, double> params; //!< model parameters (key=value)
};

/**
 * Parse a position "x,y,z" given as \p flag (--bgAp, --enb); NS_FATAL_ERROR (one line,
 * starting with \p program) on a malformed value.
 */
ns3::Vector ParsePosition(const std::string& text,
                          const std::string& flag,
                          const std::string& program);

/** The layout flags of every scenario program: --numExperts, --nodes, --area, --radius, --height. */
struct LayoutOptions
{
    uint32_t numExperts{0}; //!< N (0: 3, or the count in --nodes)
    std::string nodes;      //!< --nodes (empty: the default layout)
    std::string area;       //!< --area, xmin,xmax,ymin,ymax
    double radius{10.0};    //!< default layout: experts on a circle of this radius (m)
    double height{1.0};     //!< default layout: antenna height of every node (m)

    /** Register the flags on \p cmd (before Parse), with the program's own help texts. */
    void AddTo(ns3::CommandLine& cmd, const std::string& radiusHelp, const std::string& heightHelp);

    /**
     * Fill \p nodes (user device first) and \p area from the flags; NS_FATAL_ERROR (one
     * line, starting with \p program) unless there are 1..NETMOE_MAX_EXPERTS experts.
     * Returns the number of experts.
     */
    uint32_t Resolve(const std::string& program, std::vector<NodeSpec>& nodes, Area& area) const;
};

/** Parse "xmin,xmax,ymin,ymax"; NS_FATAL_ERROR on a malformed string. */
Area ParseArea(const std::string& text);

/**
 * Parse --nodes: ';'-separated nodes, each "x,y,z" optionally followed by "|model" and
 * "|key=val,key=val". NS_FATAL_ERROR (one line) on an unknown model or key.
 */
std::vector<NodeSpec> ParseNodeSpecs(const std::string& text);

/** The default layout: user device at the origin, experts on a circle, all static. */
std::vector<NodeSpec> DefaultNodeSpecs(uint32_t numExperts, double radius, double height);

/** Install one mobility model per node (nodes and specs in the same order). */
void InstallMobility(const ns3::NodeContainer& nodes,
                     const std::vector<NodeSpec>& specs,
                     const Area& area);

/**
 * Nodes whose model is "ns2" follow the ns-2 movement trace \p traceFile (what SUMO and
 * BonnMotion export), through Ns2MobilityHelper; $node_(i) is node i (0 = user device).
 * NS_FATAL_ERROR (one line) if the file is unreadable, an ns2 node is not in it, or a
 * node of another model is.
 */
void InstallNs2Mobility(const ns3::NodeContainer& nodes,
                        const std::vector<NodeSpec>& specs,
                        const std::string& traceFile);

} // namespace netmoe

#endif /* NETMOE_NODE_MOBILITY_H */
