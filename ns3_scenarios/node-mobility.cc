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
#include "netmoe/scenario-defaults.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeNodeMobility");

namespace
{

/** A key of a mobility model: its default and its range. */
struct ModelParam
{
    double value; //!< default
    Range range;  //!< allowed values
};

/** The most a node moves per second (m/s): a fast car. */
constexpr double kMaxSpeed = 100;
/** Speeds of the models that need motion to end a leg. */
constexpr Range kMovingSpeed{0, kMaxSpeed, true};

/** Keys each model accepts, with their defaults and ranges. */
const std::map<std::string, std::map<std::string, ModelParam>>&
ModelParams()
{
    namespace d = defaults;
    static const std::map<std::string, std::map<std::string, ModelParam>> params = {
        {"constant", {}},
        {"random-walk",
         {{"speed", {d::randomWalk_speed, kMovingSpeed}},
          {"distance", {d::randomWalk_distance, Range{0, kMaxCoordinate, true}}}}},
        {"random-waypoint",
         {{"speed", {d::randomWaypoint_speed, kMovingSpeed}},
          {"minSpeed", {d::randomWaypoint_minSpeed, Range{0, kMaxSpeed}}},
          {"pause", {d::randomWaypoint_pause, Range{0, 3600}}}}},
        {"constant-velocity",
         {{"vx", {d::constantVelocity_vx, Range{-kMaxSpeed, kMaxSpeed}}},
          {"vy", {d::constantVelocity_vy, Range{-kMaxSpeed, kMaxSpeed}}}}},
        {"gauss-markov",
         {{"speed", {d::gaussMarkov_speed, Range{0, kMaxSpeed}}},
          {"alpha", {d::gaussMarkov_alpha, Range{0, 1}}}}},
        {"ns2", {}},
    };
    return params;
}

double
Param(const NodeSpec& spec, const std::string& key)
{
    auto it = spec.params.find(key);
    if (it != spec.params.end())
    {
        return it->second;
    }
    return ModelParams().at(spec.model).at(key).value;
}

std::string
RvConstant(double v)
{
    std::ostringstream s;
    s << "ns3::ConstantRandomVariable[Constant=" << v << "]";
    return s.str();
}

bool
IsRandomModel(const std::string& model)
{
    return model == "random-walk" || model == "random-waypoint" || model == "gauss-markov";
}

/** The node numbers $node_(i) that an ns-2 trace mentions. */
std::set<uint32_t>
TracedNodes(const std::string& traceFile)
{
    std::error_code ec;
    std::ifstream in(traceFile);
    if (!std::filesystem::is_regular_file(traceFile, ec) || !in)
    {
        throw ConfigError("ns2Trace", "cannot read '" + traceFile + "' (not a readable file)");
    }
    std::set<uint32_t> ids;
    const std::regex node(R"(\$node_\((\d+)\))");
    std::string line;
    while (std::getline(in, line))
    {
        for (std::sregex_iterator it(line.begin(), line.end(), node), end; it != end; ++it)
        {
            ids.insert(static_cast<uint32_t>(std::stoul((*it)[1].str())));
        }
    }
    return ids;
}

} // namespace

std::string
NodeName(uint32_t i, uint32_t numUsers)
{
    const std::string who = i >= numUsers ? "expert " + std::to_string(i - numUsers + 1)
                            : numUsers == 1 ? "user"
                                            : "user " + std::to_string(i);
    return "node " + std::to_string(i) + " (" + who + ")";
}

Area
ParseArea(const std::string& text)
{
    auto v = ParseNumbers(text, "area", kCoordinateRange, 4);
    Area a{v[0], v[1], v[2], v[3]};
    if (a.xMin >= a.xMax || a.yMin >= a.yMax)
    {
        throw ConfigError("area", "needs xmin < xmax and ymin < ymax, got '" + text + "'");
    }
    return a;
}

std::vector<NodeSpec>
ParseNodeSpecs(const std::string& text, uint32_t numUsers)
{
    std::vector<NodeSpec> specs;
    for (const auto& nodeText : Split(text, ';'))
    {
        const std::string where = NodeName(static_cast<uint32_t>(specs.size()), numUsers);
        auto fail = [&where](const std::string& problem) {
            throw ConfigError("nodes", where + ": " + problem);
        };
        auto parts = Split(Trim(nodeText), '|');
        if (parts.empty() || parts.size() > 3)
        {
            fail("expected x,y,z|model|key=val,..., got '" + Trim(nodeText) + "'");
        }
        auto xyz = Split(parts[0], ',');
        if (xyz.size() != 3)
        {
            fail("position must be x,y,z, got '" + parts[0] + "'");
        }
        NodeSpec spec;
        spec.position = ns3::Vector(ParseNumber(xyz[0], "nodes", kCoordinateRange, where + ": x"),
                                    ParseNumber(xyz[1], "nodes", kCoordinateRange, where + ": y"),
                                    ParseNumber(xyz[2], "nodes", kCoordinateRange, where + ": z"));
        if (parts.size() >= 2 && !Trim(parts[1]).empty())
        {
            spec.model = Trim(parts[1]);
        }
        if (ModelParams().count(spec.model) == 0)
        {
            fail("unknown mobility model '" + spec.model +
                 "' (constant, random-walk, random-waypoint, constant-velocity, gauss-markov, "
                 "ns2)");
        }
        const auto& allowed = ModelParams().at(spec.model);
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
                    fail("parameter '" + kv + "' must be key=value");
                }
                std::string key = Trim(kv.substr(0, eq));
                if (allowed.count(key) == 0)
                {
                    std::string keys;
                    for (const auto& [k, v] : allowed)
                    {
                        keys += (keys.empty() ? "" : ", ") + k;
                    }
                    fail("unknown key '" + key + "' for model " + spec.model + " (accepts: " +
                         (keys.empty() ? "none" : keys) + ")");
                }
                spec.params[key] =
                    ParseNumber(kv.substr(eq + 1), "nodes", allowed.at(key).range, where + ": " + key);
            }
        }
        if (spec.model == "random-waypoint" && Param(spec, "minSpeed") > Param(spec, "speed"))
        {
            fail("minSpeed " + FormatNumber(Param(spec, "minSpeed")) + " must be <= speed " +
                 FormatNumber(Param(spec, "speed")));
        }
        specs.push_back(spec);
    }
    return specs;
}

std::string
FormatNodeSpecs(const std::vector<NodeSpec>& specs)
{
    std::string out;
    for (const auto& spec : specs)
    {
        out += (out.empty() ? "" : ";") + FormatNumber(spec.position.x) + "," +
               FormatNumber(spec.position.y) + "," + FormatNumber(spec.position.z) + "|" +
               spec.model;
        std::string params;
        for (const auto& [key, p] : ModelParams().at(spec.model))
        {
            params += (params.empty() ? "|" : ",") + key + "=" + FormatNumber(Param(spec, key));
        }
        out += params;
    }
    return out;
}

void
CheckNodesInArea(const std::vector<NodeSpec>& specs, const Area& area, uint32_t numUsers)
{
    for (uint32_t i = 0; i < specs.size(); ++i)
    {
        const ns3::Vector& p = specs[i].position;
        if (IsRandomModel(specs[i].model) &&
            (p.x < area.xMin || p.x > area.xMax || p.y < area.yMin || p.y > area.yMax))
        {
            throw ConfigError("nodes", NodeName(i, numUsers) + ": starts at (" + FormatNumber(p.x) + "," +
                                           FormatNumber(p.y) + ") outside --area, which bounds " +
                                           specs[i].model);
        }
    }
}

void
CheckNs2Trace(const std::vector<NodeSpec>& specs,
              const std::string& traceFile,
              uint32_t numUsers)
{
    int firstNs2 = -1;
    for (uint32_t i = 0; i < specs.size() && firstNs2 < 0; ++i)
    {
        firstNs2 = specs[i].model == "ns2" ? static_cast<int>(i) : -1;
    }
    if (firstNs2 < 0 && traceFile.empty())
    {
        return;
    }
    if (traceFile.empty())
    {
        throw ConfigError("ns2Trace",
                          "not given, but " + NodeName(firstNs2, numUsers) + " has mobility ns2");
    }
    if (firstNs2 < 0)
    {
        throw ConfigError("ns2Trace",
                          "'" + traceFile + "' given, but no node in --nodes has mobility ns2");
    }
    const std::set<uint32_t> traced = TracedNodes(traceFile);
    for (uint32_t i = 0; i < specs.size(); ++i)
    {
        const bool inTrace = traced.count(i) > 0;
        if (specs[i].model == "ns2" && !inTrace)
        {
            throw ConfigError("nodes", NodeName(i, numUsers) + ": has mobility ns2 but $node_(" +
                                           std::to_string(i) + ") is not in " + traceFile);
        }
        if (inTrace && specs[i].model != "ns2" && specs[i].model != "constant-velocity")
        {
            throw ConfigError("nodes", NodeName(i, numUsers) + ": $node_(" + std::to_string(i) +
                                           ") moves in " + traceFile + " but its mobility is " +
                                           specs[i].model + "; set it to ns2");
        }
    }
}

void
LayoutOptions::AddTo(FlagSet& flags, const std::string& radiusHelp, const std::string& heightHelp)
{
    flags.Add("numExperts",
              "number of experts N (0: " + std::to_string(defaults::numExperts) +
                  ", or the count in --nodes)",
              numExperts,
              Range{0, NETMOE_MAX_EXPERTS, false, true});
    flags.Add("numUsers",
              "number of user devices M; --nodes lists them first (default layout: around "
              "the first, 3 m apart from its position)",
              numUsers,
              Range{1, NETMOE_MAX_USERS, false, true});
    flags.Add("nodes",
              "per-node position and mobility: \"<ue>;<expert1>;...\" (--numUsers=M: M user "
              "devices, then the experts), each "
              "x,y,z[|model[|key=val,...]]; coordinates within +-1e5 m; speed (0, 100] m/s "
              "(gauss-markov [0, 100]), minSpeed [0, speed], pause [0, 3600] s, distance "
              "(0, 1e5] m, vx/vy [-100, 100] m/s, alpha [0, 1]",
              nodes);
    flags.Add("area", "xmin,xmax,ymin,ymax bounding the random mobility models (within +-1e5 m)",
              area);
    flags.Add("radius", radiusHelp, radius, Range{0, kMaxCoordinate});
    flags.Add("height", heightHelp, height, kCoordinateRange);
}

uint32_t
LayoutOptions::Resolve(std::vector<NodeSpec>& specs, Area& bounds, const std::string& ns2Trace)
{
    if (!nodes.empty())
    {
        specs = ParseNodeSpecs(nodes, numUsers);
        if (specs.size() <= numUsers)
        {
            throw ConfigError("nodes", "lists " + std::to_string(specs.size()) +
                                           " nodes: --numUsers=" + std::to_string(numUsers) +
                                           " user devices and at least one expert needed");
        }
        if (numExperts != 0 && numExperts + numUsers != specs.size())
        {
            throw ConfigError("numExperts", std::to_string(numExperts) + ", but --nodes lists " +
                                                std::to_string(specs.size() - numUsers) +
                                                " experts");
        }
    }
    else
    {
        specs = DefaultNodeSpecs(numExperts ? numExperts : defaults::numExperts, radius, height);
        if (numUsers > 1)
        {
            std::vector<NodeSpec> users = SpreadUsers(specs[0], numUsers, defaults::userSpread);
            specs.erase(specs.begin());
            specs.insert(specs.begin(), users.begin(), users.end());
        }
    }
    const size_t n = specs.size() - numUsers;
    if (n < 1 || n > NETMOE_MAX_EXPERTS)
    {
        throw ConfigError("nodes", "number of experts must be 1.." +
                                       std::to_string(NETMOE_MAX_EXPERTS) + ", got " +
                                       std::to_string(n));
    }
    bounds = ParseArea(area);
    CheckNodesInArea(specs, bounds, numUsers);
    CheckNs2Trace(specs, ns2Trace, numUsers);
    numExperts = static_cast<uint32_t>(n);
    nodes = FormatNodeSpecs(specs);
    return numExperts;
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

std::vector<NodeSpec>
SpreadUsers(const NodeSpec& user, uint32_t numUsers, double spread)
{
    std::vector<NodeSpec> users(numUsers, user);
    for (uint32_t u = 0; numUsers > 1 && u < numUsers; ++u)
    {
        const double angle = 2 * M_PI * u / numUsers;
        users[u].position.x += spread * std::cos(angle);
        users[u].position.y += spread * std::sin(angle);
    }
    return users;
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
            NS_ABORT_MSG("unknown mobility model '" << spec.model << "'"); // ParseNodeSpecs
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
    bool any = false;
    for (const auto& spec : specs)
    {
        any = any || spec.model == "ns2";
    }
    if (any)
    {
        CheckNs2Trace(specs, traceFile); // done by LayoutOptions::Resolve already
        // $node_(i) of the trace is node i here: 0 = user device, i = expert i.
        ns3::Ns2MobilityHelper(traceFile).Install(nodes.Begin(), nodes.End());
    }
}

} // namespace netmoe
