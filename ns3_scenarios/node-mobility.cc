/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Mobility models of the edge-moe scenario (see node-mobility.h and docs/scenario.md).
 */
#include "node-mobility.h"

#include "ns3/abort.h"
#include "ns3/boolean.h"
#include "ns3/box.h"
#include "ns3/constant-position-mobility-model.h"
#include "ns3/constant-velocity-mobility-model.h"
#include "ns3/double.h"
#include "ns3/gauss-markov-mobility-model.h"
#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/ns2-mobility-helper.h"
#include "ns3/object-factory.h"
#include "ns3/pointer.h"
#include "ns3/position-allocator.h"
#include "ns3/random-variable-stream.h"
#include "ns3/random-walk-2d-mobility-model.h"
#include "ns3/random-waypoint-mobility-model.h"
#include "ns3/rectangle.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"

#include "netmoe/messages.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeNodeMobility");

namespace
{

/** Keys each model accepts, with their defaults. */
const std::map<std::string, std::map<std::string, double>>&
ModelDefaults()
{
    static const std::map<std::string, std::map<std::string, double>> defaults = {
        {"constant", {}},
        {"random-walk", {{"speed", 1.0}, {"distance", 5.0}}},
        {"random-waypoint", {{"speed", 2.0}, {"minSpeed", 0.5}, {"pause", 2.0}}},
        {"constant-velocity", {{"vx", 0.0}, {"vy", 0.0}}},
        {"gauss-markov", {{"speed", 1.0}, {"alpha", 0.85}}},
        {"ns2", {}},
    };
    return defaults;
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

double
ToDouble(const std::string& text, const std::string& what)
{
    try
    {
        size_t used = 0;
        double v = std::stod(Trim(text), &used);
        if (used != Trim(text).size() || !std::isfinite(v))
        {
            throw std::invalid_argument(text);
        }
        return v;
    }
    catch (const std::exception&)
    {
        NS_FATAL_ERROR("edge-moe: " << what << ": '" << text << "' is not a number");
    }
    return 0.0;
}

double
Param(const NodeSpec& spec, const std::string& key)
{
    auto it = spec.params.find(key);
    if (it != spec.params.end())
    {
        return it->second;
    }
    return ModelDefaults().at(spec.model).at(key);
}

std::string
RvConstant(double v)
{
    std::ostringstream s;
    s << "ns3::ConstantRandomVariable[Constant=" << v << "]";
    return s.str();
}

} // namespace

ns3::Vector
ParsePosition(const std::string& text, const std::string& flag, const std::string& program)
{
    std::vector<double> v;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ','))
    {
        try
        {
            size_t used = 0;
            v.push_back(std::stod(item, &used));
            if (used != item.size() || !std::isfinite(v.back()))
            {
                throw std::invalid_argument(item);
            }
        }
        catch (const std::exception&)
        {
            NS_FATAL_ERROR(program << ": " << flag << " must be x,y,z, got '" << text << "'");
        }
    }
    if (v.size() != 3)
    {
        NS_FATAL_ERROR(program << ": " << flag << " must be x,y,z, got '" << text << "'");
    }
    return ns3::Vector(v[0], v[1], v[2]);
}

Area
ParseArea(const std::string& text)
{
    auto parts = Split(text, ',');
    if (parts.size() != 4)
    {
        NS_FATAL_ERROR("edge-moe: --area must be xmin,xmax,ymin,ymax, got '" << text << "'");
    }
    Area a{ToDouble(parts[0], "--area"),
           ToDouble(parts[1], "--area"),
           ToDouble(parts[2], "--area"),
           ToDouble(parts[3], "--area")};
    if (a.xMin >= a.xMax || a.yMin >= a.yMax)
    {
        NS_FATAL_ERROR("edge-moe: --area needs xmin < xmax and ymin < ymax, got '" << text
                                                                                   << "'");
    }
    return a;
}

std::vector<NodeSpec>
ParseNodeSpecs(const std::string& text)
{
    std::vector<NodeSpec> specs;
    for (const auto& nodeText : Split(text, ';'))
    {
        const std::string where = "--nodes entry " + std::to_string(specs.size()) + " ('" +
                                  Trim(nodeText) + "')";
        auto parts = Split(Trim(nodeText), '|');
        if (parts.empty() || parts.size() > 3)
        {
            NS_FATAL_ERROR("edge-moe: " << where << ": expected x,y,z|model|key=val,...");
        }
        auto xyz = Split(parts[0], ',');
        if (xyz.size() != 3)
        {
            NS_FATAL_ERROR("edge-moe: " << where << ": position must be x,y,z");
        }
        NodeSpec spec;
        spec.position = ns3::Vector(ToDouble(xyz[0], where),
                                    ToDouble(xyz[1], where),
                                    ToDouble(xyz[2], where));
        if (parts.size() >= 2 && !Trim(parts[1]).empty())
        {
            spec.model = Trim(parts[1]);
        }
        if (ModelDefaults().count(spec.model) == 0)
        {
            NS_FATAL_ERROR("edge-moe: "
                           << where << ": unknown mobility model '" << spec.model
                           << "' (constant, random-walk, random-waypoint, constant-velocity, "
                              "gauss-markov, ns2)");
        }
        if (parts.size() == 3)
        {
            for (const auto& kv : Split(parts[2], ','))
            {
                if (Trim(kv).empty())
                {
                    continue;
                }
                auto eq = kv.find('=');
                if (eq == std::string::npos)
                {
                    NS_FATAL_ERROR("edge-moe: " << where << ": parameter '" << kv
                                                << "' must be key=value");
                }
                std::string key = Trim(kv.substr(0, eq));
                const auto& allowed = ModelDefaults().at(spec.model);
                if (allowed.count(key) == 0)
                {
                    std::string keys;
                    for (const auto& [k, v] : allowed)
                    {
                        keys += (keys.empty() ? "" : ", ") + k;
                    }
                    NS_FATAL_ERROR("edge-moe: " << where << ": unknown key '" << key
                                                << "' for model " << spec.model << " (accepts: "
                                                << (keys.empty() ? "none" : keys) << ")");
                }
                spec.params[key] = ToDouble(kv.substr(eq + 1), where + " " + key);
            }
        }
        for (const char* k : {"speed", "distance", "minSpeed"})
        {
            if (spec.params.count(k) && spec.params[k] < 0)
            {
                NS_FATAL_ERROR("edge-moe: " << where << ": " << k << " must be >= 0");
            }
        }
        if (spec.model == "gauss-markov" && (Param(spec, "alpha") < 0 || Param(spec, "alpha") > 1))
        {
            NS_FATAL_ERROR("edge-moe: " << where << ": alpha must be in [0,1]");
        }
        if (spec.model == "random-waypoint" && Param(spec, "minSpeed") > Param(spec, "speed"))
        {
            NS_FATAL_ERROR("edge-moe: " << where << ": minSpeed must be <= speed");
        }
        if (spec.model == "random-walk" && Param(spec, "distance") <= 0)
        {
            NS_FATAL_ERROR("edge-moe: " << where << ": distance must be > 0");
        }
        specs.push_back(spec);
    }
    return specs;
}

void
LayoutOptions::AddTo(ns3::CommandLine& cmd,
                     const std::string& radiusHelp,
                     const std::string& heightHelp)
{
    cmd.AddValue("numExperts", "number of experts N (default 3, or the count in --nodes)",
                 numExperts);
    cmd.AddValue("nodes", "per-node position and mobility: \"<ue>;<expert1>;...\", each "
                          "x,y,z[|model[|key=val,...]]",
                 nodes);
    cmd.AddValue("area", "xmin,xmax,ymin,ymax bounding the random mobility models", area);
    cmd.AddValue("radius", radiusHelp, radius);
    cmd.AddValue("height", heightHelp, height);
}

uint32_t
LayoutOptions::Resolve(const std::string& program, std::vector<NodeSpec>& specs, Area& bounds) const
{
    if (!nodes.empty())
    {
        specs = ParseNodeSpecs(nodes);
        if (numExperts != 0 && numExperts + 1 != specs.size())
        {
            NS_FATAL_ERROR(program << ": --numExperts=" << numExperts << " but --nodes lists "
                                   << specs.size() - 1 << " experts");
        }
    }
    else
    {
        specs = DefaultNodeSpecs(numExperts ? numExperts : 3, radius, height);
    }
    const size_t n = specs.size() - 1;
    if (n < 1 || n > NETMOE_MAX_EXPERTS)
    {
        NS_FATAL_ERROR(program << ": number of experts must be 1.." << NETMOE_MAX_EXPERTS
                               << ", got " << n);
    }
    bounds = ParseArea(area);
    return static_cast<uint32_t>(n);
}

std::vector<NodeSpec>
DefaultNodeSpecs(uint32_t numExperts, double radius, double height)
{
    std::vector<NodeSpec> specs(numExperts + 1);
    specs[0].position = ns3::Vector(0, 0, height);
    for (uint32_t i = 0; i < numExperts; ++i)
    {
        double angle = 2 * M_PI * i / numExperts;
        specs[i + 1].position =
            ns3::Vector(radius * std::cos(angle), radius * std::sin(angle), height);
    }
    return specs;
}

void
InstallMobility(const ns3::NodeContainer& nodes, const std::vector<NodeSpec>& specs, const Area& area)
{
    using namespace ns3;
    NS_ABORT_MSG_IF(nodes.GetN() != specs.size(), "one NodeSpec per node");
    for (uint32_t i = 0; i < nodes.GetN(); ++i)
    {
        const NodeSpec& spec = specs[i];
        const Vector& p = spec.position;
        const bool random = spec.model == "random-walk" || spec.model == "random-waypoint" ||
                            spec.model == "gauss-markov";
        if (random && (p.x < area.xMin || p.x > area.xMax || p.y < area.yMin || p.y > area.yMax))
        {
            NS_FATAL_ERROR("edge-moe: node " << i << " starts at (" << p.x << "," << p.y
                                             << ") outside --area, which bounds " << spec.model);
        }
        Ptr<MobilityModel> model;
        if (spec.model == "ns2")
        {
            continue; // InstallNs2Mobility
        }
        if (spec.model == "constant")
        {
            model = CreateObject<ConstantPositionMobilityModel>();
        }
        else if (spec.model == "random-walk")
        {
            model = CreateObjectWithAttributes<RandomWalk2dMobilityModel>(
                "Bounds",
                RectangleValue(Rectangle(area.xMin, area.xMax, area.yMin, area.yMax)),
                "Mode",
                StringValue("Distance"),
                "Distance",
                DoubleValue(Param(spec, "distance")),
                "Speed",
                StringValue(RvConstant(Param(spec, "speed"))));
        }
        else if (spec.model == "random-waypoint")
        {
            auto alloc = CreateObject<RandomBoxPositionAllocator>();
            std::ostringstream ux, uy;
            ux << "ns3::UniformRandomVariable[Min=" << area.xMin << "|Max=" << area.xMax << "]";
            uy << "ns3::UniformRandomVariable[Min=" << area.yMin << "|Max=" << area.yMax << "]";
            alloc->SetAttribute("X", StringValue(ux.str()));
            alloc->SetAttribute("Y", StringValue(uy.str()));
            alloc->SetAttribute("Z", StringValue(RvConstant(p.z)));
            std::ostringstream speed;
            speed << "ns3::UniformRandomVariable[Min=" << Param(spec, "minSpeed")
                  << "|Max=" << Param(spec, "speed") << "]";
            model = CreateObjectWithAttributes<RandomWaypointMobilityModel>(
                "Speed",
                StringValue(speed.str()),
                "Pause",
                StringValue(RvConstant(Param(spec, "pause"))),
                "PositionAllocator",
                PointerValue(alloc));
        }
        else if (spec.model == "constant-velocity")
        {
            model = CreateObject<ConstantVelocityMobilityModel>();
        }
        else if (spec.model == "gauss-markov")
        {
            model = CreateObjectWithAttributes<GaussMarkovMobilityModel>(
                "Bounds",
                BoxValue(Box(area.xMin, area.xMax, area.yMin, area.yMax, p.z, p.z)),
                "TimeStep",
                TimeValue(Seconds(0.5)),
                "Alpha",
                DoubleValue(Param(spec, "alpha")),
                "MeanVelocity",
                StringValue(RvConstant(Param(spec, "speed"))),
                "MeanPitch",
                StringValue(RvConstant(0)),
                "NormalPitch",
                StringValue("ns3::NormalRandomVariable[Mean=0.0|Variance=0.0]"));
        }
        else
        {
            NS_FATAL_ERROR("edge-moe: unknown mobility model '" << spec.model << "'");
        }
        nodes.Get(i)->AggregateObject(model);
        model->SetPosition(p);
        if (spec.model == "constant-velocity")
        {
            // after SetPosition, which zeroes the velocity
            DynamicCast<ConstantVelocityMobilityModel>(model)->SetVelocity(
                Vector(Param(spec, "vx"), Param(spec, "vy"), 0));
        }
    }
}

void
InstallNs2Mobility(const ns3::NodeContainer& nodes,
                   const std::vector<NodeSpec>& specs,
                   const std::string& traceFile)
{
    using namespace ns3;
    bool any = false;
    for (const auto& spec : specs)
    {
        any = any || spec.model == "ns2";
    }
    if (!any && traceFile.empty())
    {
        return;
    }
    if (traceFile.empty())
    {
        NS_FATAL_ERROR("edge-moe: a node has mobility ns2 but --ns2Trace is not given");
    }
    if (!any)
    {
        NS_FATAL_ERROR("edge-moe: --ns2Trace given but no node in --nodes has mobility ns2");
    }
    std::ifstream probe(traceFile);
    if (!probe)
    {
        NS_FATAL_ERROR("edge-moe: --ns2Trace: cannot read '" << traceFile << "'");
    }
    // $node_(i) of the trace is node i here: 0 = user device, i = expert i.
    Ns2MobilityHelper(traceFile).Install(nodes.Begin(), nodes.End());
    for (uint32_t i = 0; i < nodes.GetN(); ++i)
    {
        auto own = nodes.Get(i)->GetObject<MobilityModel>();
        auto traced = nodes.Get(i)->GetObject<ConstantVelocityMobilityModel>();
        if (specs[i].model == "ns2" && !traced)
        {
            NS_FATAL_ERROR("edge-moe: node " << i << " has mobility ns2 but $node_(" << i
                                             << ") is not in " << traceFile);
        }
        if (specs[i].model != "ns2" && specs[i].model != "constant-velocity" && traced)
        {
            NS_FATAL_ERROR("edge-moe: $node_(" << i << ") moves in " << traceFile
                                               << " but its mobility is " << specs[i].model
                                               << "; set it to ns2");
        }
    }
}

} // namespace netmoe
