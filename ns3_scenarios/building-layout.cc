/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The building of indoor scenarios (see building-layout.h).
 */
#include "building-layout.h"

#include "ns3/abort.h"
#include "ns3/box.h"
#include "ns3/building.h"
#include "ns3/buildings-helper.h"
#include "ns3/log.h"
#include "ns3/node-container.h"

#include <cmath>
#include <sstream>
#include <vector>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeBuildingLayout");

namespace
{

std::vector<double>
Numbers(const std::string& text, const std::string& flag, size_t count)
{
    std::vector<double> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ','))
    {
        try
        {
            size_t used = 0;
            out.push_back(std::stod(item, &used));
            if (used != item.size() || !std::isfinite(out.back()))
            {
                throw std::invalid_argument(item);
            }
        }
        catch (const std::exception&)
        {
            NS_FATAL_ERROR("edge-moe: " << flag << ": '" << item << "' is not a number");
        }
    }
    if (out.size() != count)
    {
        NS_FATAL_ERROR("edge-moe: " << flag << " needs " << count << " comma-separated numbers, got '"
                                    << text << "'");
    }
    return out;
}

} // namespace

BuildingSpec
ParseBuildingSpec(const std::string& bounds,
                  const std::string& type,
                  const std::string& rooms,
                  uint32_t floors)
{
    BuildingSpec b;
    if (bounds.empty())
    {
        return b;
    }
    auto v = Numbers(bounds, "--building", 6);
    b.enabled = true;
    b.xMin = v[0];
    b.xMax = v[1];
    b.yMin = v[2];
    b.yMax = v[3];
    b.zMin = v[4];
    b.zMax = v[5];
    if (b.xMin >= b.xMax || b.yMin >= b.yMax || b.zMin >= b.zMax)
    {
        NS_FATAL_ERROR("edge-moe: --building needs xmin < xmax, ymin < ymax, zmin < zmax, got '"
                       << bounds << "'");
    }
    if (type != "residential" && type != "office" && type != "commercial")
    {
        NS_FATAL_ERROR("edge-moe: unknown --buildingType '" << type
                                                            << "' (residential, office, commercial)");
    }
    b.type = type;
    auto r = Numbers(rooms, "--rooms", 2);
    if (r[0] < 1 || r[1] < 1 || r[0] != std::floor(r[0]) || r[1] != std::floor(r[1]) ||
        r[0] > 100 || r[1] > 100)
    {
        NS_FATAL_ERROR("edge-moe: --rooms must be two whole numbers 1..100, got '" << rooms << "'");
    }
    b.roomsX = static_cast<uint32_t>(r[0]);
    b.roomsY = static_cast<uint32_t>(r[1]);
    if (floors < 1 || floors > 100)
    {
        NS_FATAL_ERROR("edge-moe: --floors must be 1..100, got " << floors);
    }
    b.floors = floors;
    return b;
}

void
InstallBuilding(const BuildingSpec& spec)
{
    using namespace ns3;
    if (spec.enabled)
    {
        auto building = CreateObject<Building>();
        building->SetBoundaries(Box(spec.xMin, spec.xMax, spec.yMin, spec.yMax, spec.zMin, spec.zMax));
        building->SetBuildingType(spec.type == "office"       ? Building::Office
                                  : spec.type == "commercial" ? Building::Commercial
                                                              : Building::Residential);
        building->SetExtWallsType(Building::ConcreteWithWindows);
        building->SetNRoomsX(spec.roomsX);
        building->SetNRoomsY(spec.roomsY);
        building->SetNFloors(spec.floors);
    }
    InstallBuildingInfo();
}

void
InstallBuildingInfo()
{
    ns3::BuildingsHelper::Install(ns3::NodeContainer::GetGlobal());
}

} // namespace netmoe
