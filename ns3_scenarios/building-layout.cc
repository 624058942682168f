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


namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeBuildingLayout");

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
    auto v = ParseNumbers(bounds, "building", kCoordinateRange, 6);
    b.enabled = true;
    b.xMin = v[0];
    b.xMax = v[1];
    b.yMin = v[2];
    b.yMax = v[3];
    b.zMin = v[4];
    b.zMax = v[5];
    if (b.xMin >= b.xMax || b.yMin >= b.yMax || b.zMin >= b.zMax)
    {
        throw ConfigError("building",
                          "needs xmin < xmax, ymin < ymax, zmin < zmax, got '" + bounds + "'");
    }
    if (type != "residential" && type != "office" && type != "commercial")
    {
        throw ConfigError("buildingType",
                          "unknown type '" + type + "' (residential, office, commercial)");
    }
    b.type = type;
    auto r = ParseNumbers(rooms, "rooms", kRoomsRange, 2);
    b.roomsX = static_cast<uint32_t>(r[0]);
    b.roomsY = static_cast<uint32_t>(r[1]);
    CheckRange("floors", floors, kFloorsRange);
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
