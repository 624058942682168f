/* SPDX-License-Identifier: GPL-2.0-only
 *
 * UeRadioEnergy: the energy of the user device's Wi-Fi radio, ns-3's WifiRadioEnergyModel
 * without its battery.
 *
 * It models the same thing with the same numbers: a WifiPhyListener follows the PHY's
 * state (IDLE, CCA_BUSY, TX, RX, SWITCHING, SLEEP, OFF) and the energy is the sum over
 * the time spent in each state of its current (WifiRadioEnergyModel's attributes, e.g.
 * TxCurrentA) times the supply voltage (BasicEnergySource's), in the same order of
 * operations, so the joules are the same to the last bit.
 *
 * Why not WifiRadioEnergyModel itself: on every PHY state change and every battery
 * update it cancels and reschedules the event that switches the radio off when the
 * battery runs out. ns-3 keeps a cancelled event in the scheduler until its time comes,
 * and with a battery that never runs out that time is decades away: every frame the
 * user device heard left two events behind for good (about 150 kB per task without
 * heartbeats, 0.9 MB with them), and every later event paid for the larger queue.
 * The experiment has no battery to deplete, so nothing here schedules anything: the end
 * of a TX, CCA-busy or switching period (an event in WifiRadioEnergyModelPhyListener, one
 * per frame the device hears) is booked when the next state change or TotalJ() comes,
 * with the same operations at the same simulated times, so the joules do not move.
 */
#ifndef NETMOE_UE_RADIO_ENERGY_H
#define NETMOE_UE_RADIO_ENERGY_H

#include "ns3/nstime.h"
#include "ns3/wifi-phy-listener.h"
#include "ns3/wifi-phy-state.h"
#include "ns3/wifi-phy.h"

#include <memory>

namespace netmoe
{

/** Energy drawn by one Wi-Fi radio (J), from its PHY states; see the file comment. */
class UeRadioEnergy : public ns3::WifiPhyListener
{
  public:
    /** Follow \p phy from now on (currents and voltage: ns-3's attribute defaults). */
    static std::shared_ptr<UeRadioEnergy> Install(ns3::Ptr<ns3::WifiPhy> phy);

    UeRadioEnergy();

    /** Energy drawn since the radio was installed (J). */
    double TotalJ() const;
    /** Power drawn while transmitting (W). */
    double TxW() const;
    /** Power drawn while receiving (W). */
    double RxW() const;

    void NotifyRxStart(ns3::Time duration) override;
    void NotifyRxEndOk() override;
    void NotifyRxEndError() override;
    void NotifyTxStart(ns3::Time duration, ns3::dBm_u txPower) override;
    void NotifyCcaBusyStart(ns3::Time duration,
                            ns3::WifiChannelListType channelType,
                            const std::vector<ns3::Time>& per20MhzDurations) override;
    void NotifySwitchingStart(ns3::Time duration) override;
    void NotifySleep() override;
    void NotifyOff() override;
    void NotifyWakeup() override;
    void NotifyOn() override;

  private:
    /** Book the time spent in the current state up to \p at, then enter \p state. */
    void Book(ns3::WifiPhyState state, ns3::Time at);
    /** If a timed period ended by now, book its return to IDLE at its end. */
    void Settle();
    /** Settle(), then Book(state, now). */
    void ChangeState(ns3::WifiPhyState state);
    /** ChangeState(state), back to IDLE after \p duration. */
    void ChangeStateFor(ns3::WifiPhyState state, ns3::Time duration);
    /** The current drawn in \p state (A). */
    double CurrentA(ns3::WifiPhyState state) const;

    double m_idleA;
    double m_ccaBusyA;
    double m_txA;
    double m_rxA;
    double m_switchingA;
    double m_sleepA;
    double m_volts;
    ns3::WifiPhyState m_state{ns3::WifiPhyState::IDLE};
    ns3::Time m_lastUpdate;
    double m_totalJ{0};
    bool m_timed{false}; //!< a TX / CCA-busy / switching period is pending its end
    ns3::Time m_idleAt;  //!< when that period ends (back to IDLE)
};

} // namespace netmoe

#endif /* NETMOE_UE_RADIO_ENERGY_H */
