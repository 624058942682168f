/* SPDX-License-Identifier: GPL-2.0-only
 *
 * One building (ns-3 buildings module) for indoor scenarios: a box split into a grid of
 * rooms on one or more floors. With --propagation=buildings the loss between two
 * devices inside it is ITU-R P.1238 plus InternalWallLoss for every room wall between
 * them (HybridBuildingsPropagationLossModel), so a smart home's walls shape the SNR.
 */
#ifndef NETMOE_BUILDING_LAYOUT_H
#define NETMOE_BUILDING_LAYOUT_H

#include "flag-parse.h"

#include <cstdint>
#include <string>

namespace netmoe
{

/** The building, from --building, --buildingType, --rooms, --floors. */
struct BuildingSpec
{
    bool enabled{false};                  //!< a building is placed
    double xMin{0}, xMax{0}, yMin{0}, yMax{0}, zMin{0}, zMax{0}; //!< bounds (m)
    std::string type{"residential"};      //!< residential, office, commercial
    uint32_t roomsX{1};                   //!< rooms along x
    uint32_t roomsY{1};                   //!< rooms along y
    uint32_t floors{1};                   //!< floors
};

/** Rooms along one axis: 1..100. */
inline constexpr Range kRoomsRange{1, 100, false, true};
/** Floors: 1..100. */
inline constexpr Range kFloorsRange{1, 100, false, true};

/**
 * Parse "xmin,xmax,ymin,ymax,zmin,zmax" (within +-1e5 m; empty: no building) and the
 * other fields (checked only with a building); ConfigError on a bad value.
 */
BuildingSpec ParseBuildingSpec(const std::string& bounds,
                               const std::string& type,
                               const std::string& rooms,
                               uint32_t floors);

/**
 * Place the building and give every node that exists now a MobilityBuildingInfo (the
 * buildings loss models need it). Call after all nodes have their mobility models.
 */
void InstallBuilding(const BuildingSpec& spec);

/** Give every node a MobilityBuildingInfo without placing a building. */
void InstallBuildingInfo();

} // namespace netmoe

#endif /* NETMOE_BUILDING_LAYOUT_H */
