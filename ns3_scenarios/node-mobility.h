/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Per-node mobility for the edge-moe scenario: parses the --nodes specification
 * ("x,y,z|model|key=val,...;...") and installs one ns-3 mobility model per node.
 */
#ifndef NETMOE_NODE_MOBILITY_H
#define NETMOE_NODE_MOBILITY_H

#include "flag-set.h"

#include "ns3/node-container.h"
#include "ns3/vector.h"

#include <cstdint>
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

/** "node 0 (user)", "node 2 (expert 2)": how an error names node \p i of --nodes. */
std::string NodeName(uint32_t i, uint32_t numUsers = 1);

/** The layout flags of every scenario program: --numExperts, --nodes, --area, --radius, --height. */
struct LayoutOptions
{
    uint32_t numExperts{0}; //!< N (0: 3, or the count in --nodes)
    uint32_t numUsers{1};   //!< M user devices, listed first in --nodes
    std::string nodes;      //!< --nodes (empty: the default layout)
    std::string area;       //!< --area, xmin,xmax,ymin,ymax
    double radius{10.0};    //!< default layout: experts on a circle of this radius (m)
    double height{1.0};     //!< default layout: antenna height of every node (m)

    /** Register the flags on \p flags (before Parse), with the program's own help texts. */
    void AddTo(FlagSet& flags, const std::string& radiusHelp, const std::string& heightHelp);

    /**
     * Fill \p nodes (the numUsers user devices first, then the experts) and \p area from the flags and check them (1..
     * NETMOE_MAX_EXPERTS experts, random models start inside the area, the ns-2 trace
     * \p ns2Trace has every ns2 node); ConfigError otherwise. Sets numExperts and nodes to
     * the resolved values (every model parameter written out). Returns N.
     */
    uint32_t Resolve(std::vector<NodeSpec>& nodes, Area& area, const std::string& ns2Trace);
};

/** Parse "xmin,xmax,ymin,ymax" (within +-1e5 m); ConfigError for --area otherwise. */
Area ParseArea(const std::string& text);

/**
 * Parse --nodes: ';'-separated nodes, each "x,y,z" optionally followed by "|model" and
 * "|key=val,key=val". ConfigError for --nodes, naming the node, on a bad position, an
 * unknown model or key, or a parameter outside its range.
 */
std::vector<NodeSpec> ParseNodeSpecs(const std::string& text, uint32_t numUsers = 1);

/** \p specs in the --nodes format, with every parameter of each model written out. */
std::string FormatNodeSpecs(const std::vector<NodeSpec>& specs);

/** ConfigError unless every node of a random model starts inside \p area. */
void CheckNodesInArea(const std::vector<NodeSpec>& specs, const Area& area, uint32_t numUsers = 1);

/**
 * ConfigError unless the ns2 nodes and \p traceFile agree: a trace exactly when some node
 * has mobility ns2, readable, naming every ns2 node, and no node of another model (but
 * constant-velocity) moving in it.
 */
void CheckNs2Trace(const std::vector<NodeSpec>& specs,
                   const std::string& traceFile,
                   uint32_t numUsers = 1);

/** The default layout: user device at the origin, experts on a circle, all static. */
std::vector<NodeSpec> DefaultNodeSpecs(uint32_t numExperts, double radius, double height);

/**
 * The default layout of \p numUsers user devices: user 0 at \p user, user u (of M > 1)
 * at \p user + (r cos(2 pi u / M), r sin(2 pi u / M), 0), r = \p spread.
 */
std::vector<NodeSpec> SpreadUsers(const NodeSpec& user, uint32_t numUsers, double spread);

/** Install one mobility model per node (nodes and specs in the same order). */
void InstallMobility(const ns3::NodeContainer& nodes,
                     const std::vector<NodeSpec>& specs,
                     const Area& area);

/**
 * Nodes whose model is "ns2" follow the ns-2 movement trace \p traceFile (what SUMO and
 * BonnMotion export), through Ns2MobilityHelper; $node_(i) is node i (0 = user device).
 * Checked by CheckNs2Trace (ConfigError).
 */
void InstallNs2Mobility(const ns3::NodeContainer& nodes,
                        const std::vector<NodeSpec>& specs,
                        const std::string& traceFile);

} // namespace netmoe

#endif /* NETMOE_NODE_MOBILITY_H */
