/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The scenario side of the netmoe shared-memory bridge (header-only, no ns-3 needed).
 *
 * Python (pybridge.bridge.Bridge) creates one anonymous segment per environment
 * (memfd, so nothing can be left behind in /dev/shm), starts the scenario process
 * with the descriptor inherited and passes --bridgeFd=N. The scenario then loops:
 *
 *     bridge.Reports()[u] = ...;        // each user's measurements + observation
 *     if (!bridge.Exchange()) break;    // publish, wait for the next round
 *     use(bridge.Actions());            // each user's task; command etc. in [0]
 *
 * A TRY command ("what if?") is served by fork(): the child runs the task as a STEP
 * would and exits right after publishing its report, while the parent waits for the
 * next command from the unchanged state. The scenario code never sees it; the driver
 * (IsTryChild()) skips the gap after the task, which the child would only throw away.
 *
 * Episodes are forked too (NextEpisode()): the process started by Python parses its
 * flags, attaches, and then only forks one child per episode and waits for it. The
 * child sets its ns-3 run number, builds the scenario, warms up and serves STEP/TRY
 * until a RESET or STOP ends its Exchange() loop; it then exits, and the parent forks
 * the next episode (RESET, with the action's rng_run) or exits (STOP). A reset so costs
 * a fork instead of an exec, the loading of the ns-3 libraries and their static set-up;
 * and since the parent never builds anything, each child starts from the state a new
 * process would have (same run number, same episode).
 *
 * Waits spin only while Python runs on another CPU, and for at most spinMicroseconds
 * (netmoe/sync.h), then sleep in futex(2), waking every 100 ms to check that the
 * Python parent is alive (still our parent, still running); when it is gone Exchange()
 * throws BridgeError and the scenario exits by itself.
 */
#ifndef NETMOE_BRIDGE_H
#define NETMOE_BRIDGE_H

#include "messages.h"
#include "sync.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

namespace netmoe
{

/** Raised for a bridge that cannot continue: bad segment, dead peer, timeout. */
class BridgeError : public std::runtime_error
{
  public:
    using std::runtime_error::runtime_error;
};

/** The scenario's end of the lock-step exchange with Python. */
class ScenarioBridge
{
  public:
    /**
     * Attach to an inherited segment descriptor (fd >= 0) or a named POSIX segment.
     * \param fd descriptor passed by Python, or -1 to open \p name instead
     * \param name shm_open name (only when fd < 0), for a scenario attached by hand
     * \param spinMicroseconds longest busy-poll before sleeping in a wait (0: sleep at once)
     * \param timeoutSeconds the longest wait for Python's next action
     */
    ScenarioBridge(int fd, const std::string& name, double spinMicroseconds,
                   double timeoutSeconds)
        : m_spin(spinMicroseconds * 1e-6),
          m_timeout(timeoutSeconds)
    {
        m_isChild = fd >= 0;
        if (fd < 0)
        {
            fd = shm_open(name.c_str(), O_RDWR, 0);
            if (fd < 0)
            {
                throw BridgeError("netmoe bridge: cannot open segment '" + name +
                                  "': " + std::strerror(errno));
            }
        }
        struct stat st;
        if (fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) < sizeof(NetmoeShm))
        {
            throw BridgeError("netmoe bridge: segment is smaller than NetmoeShm (" +
                              std::to_string(sizeof(NetmoeShm)) + " bytes)");
        }
        void* p = mmap(nullptr, sizeof(NetmoeShm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
        {
            throw BridgeError(std::string("netmoe bridge: mmap failed: ") + std::strerror(errno));
        }
        close(fd); // the mapping keeps the segment alive
        m_shm = static_cast<NetmoeShm*>(p);
        NetmoeHeader& h = m_shm->header;
        if (h.magic != NETMOE_BRIDGE_MAGIC || h.version != NETMOE_BRIDGE_VERSION ||
            h.action_size != sizeof(NetmoeAction) || h.report_size != sizeof(NetmoeReport))
        {
            throw BridgeError("netmoe bridge: segment layout mismatch (Python side and "
                              "scenario built from different messages.h; rebuild with "
                              "`netmoe build`)");
        }
        m_parent = h.python_pid;
        // No PR_SET_PDEATHSIG: it fires when the *thread* that forked us exits, which
        // kills healthy scenarios started from worker threads. Waits poll the parent.
        if (!PeerAlive())
        {
            throw BridgeError("netmoe bridge: Python peer is already gone");
        }
        h.scenario_pid = static_cast<int32_t>(getpid());
        m_lastAction = netmoe_load(&h.to_scenario_seq);
    }

    ~ScenarioBridge()
    {
        if (m_shm)
        {
            munmap(m_shm, sizeof(NetmoeShm));
        }
    }

    ScenarioBridge(const ScenarioBridge&) = delete;
    ScenarioBridge& operator=(const ScenarioBridge&) = delete;

    /** Is this process a TRY's forked copy (it exits once its report is out)? */
    bool IsTryChild() const
    {
        return m_isTryChild;
    }

    /** The reports to fill before Exchange(): user u's at index u (NETMOE_MAX_USERS). */
    NetmoeReport* Reports()
    {
        return m_shm->report;
    }

    /**
     * The actions Python wrote, valid after Exchange() returned true: user u's task at
     * index u; the round's command, num_users and next_gap_s are action[0]'s.
     */
    const NetmoeAction* Actions() const
    {
        return m_shm->action;
    }

    /**
     * Publish the report and wait for Python's next action.
     * \return true for a step (or a TRY, in the forked copy), false when Python asked to stop
     */
    bool Exchange()
    {
        NetmoeHeader& h = m_shm->header;
        netmoe_post(&h.to_python_seq, &h.python_waiting);
        if (m_isTryChild)
        {
            std::fflush(nullptr);
            _exit(0); // a forked "what if" copy is done once its report is out
        }
        for (;;)
        {
            WaitForAction();
            if (m_shm->action[0].command != NETMOE_CMD_TRY)
            {
                return m_shm->action[0].command == NETMOE_CMD_STEP;
            }
            pid_t child = fork();
            if (child < 0)
            {
                throw BridgeError(std::string("netmoe bridge: fork for TRY failed: ") +
                                  std::strerror(errno));
            }
            if (child == 0)
            {
                m_isTryChild = true;
                return true; // run the task like a STEP
            }
            int status = 0;
            waitpid(child, &status, 0);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            {
                throw BridgeError("netmoe bridge: TRY copy of the scenario failed");
            }
        }
    }

    /**
     * Fork the next episode and, in the parent, wait for it to end.
     * \param run set, in the child, to the episode's ns-3 run number: -1 for the first
     *        episode (keep the command line's --RngRun), else the RESET's rng_run
     * \return true in the child (build and serve the episode, then _exit), false in
     *         the parent once Python sent STOP. A child that died is passed on: the
     *         parent exits with its status (or is killed by its signal).
     */
    bool NextEpisode(int64_t& run)
    {
        for (;;)
        {
            pid_t parent = getpid();
            pid_t child = fork();
            if (child < 0)
            {
                throw BridgeError(std::string("netmoe bridge: fork for an episode failed: ") +
                                  std::strerror(errno));
            }
            if (child == 0)
            {
                // the parent only waits, from its one thread: its death is this process's
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                {
                    _exit(1);
                }
                m_episodeParent = parent;
                m_shm->header.scenario_pid = static_cast<int32_t>(getpid());
                run = m_episodes++ == 0 ? -1 : static_cast<int64_t>(m_shm->action[0].rng_run);
                return true;
            }
            ++m_episodes;
            WaitForEpisode(child);
            m_lastAction = netmoe_load(&m_shm->header.to_scenario_seq);
            if (m_shm->action[0].command != NETMOE_CMD_RESET)
            {
                return false;
            }
        }
    }

    /** Leave a message for Python to show if this process dies. */
    void SetError(const std::string& message)
    {
        std::snprintf(m_shm->header.error, sizeof(m_shm->header.error), "%s", message.c_str());
    }

  private:
    /** Wait for an episode's child to exit, watching Python; pass on a failure. */
    void WaitForEpisode(pid_t child)
    {
        // a pidfd turns readable when the child exits: sleep on it in 100 ms slices
        // (without one, where the kernel is older than 5.3, poll every millisecond)
        const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
        for (;;)
        {
            int status = 0;
            pid_t rc = waitpid(child, &status, WNOHANG);
            if (rc == child)
            {
                if (pidfd >= 0)
                {
                    close(pidfd);
                }
                if (WIFSIGNALED(status))
                {
                    std::signal(WTERMSIG(status), SIG_DFL);
                    kill(getpid(), WTERMSIG(status));
                }
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                {
                    std::fflush(nullptr);
                    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
                }
                return;
            }
            if (rc < 0 && errno != EINTR)
            {
                throw BridgeError(std::string("netmoe bridge: waiting for an episode: ") +
                                  std::strerror(errno));
            }
            if (!PeerAlive())
            {
                kill(child, SIGKILL);
                waitpid(child, &status, 0);
                throw BridgeError("netmoe bridge: Python peer (pid " + std::to_string(m_parent) +
                                  ") is gone");
            }
            if (pidfd >= 0)
            {
                struct pollfd p = {pidfd, POLLIN, 0};
                poll(&p, 1, 100);
            }
            else
            {
                usleep(1000);
            }
        }
    }

    void WaitForAction()
    {
        NetmoeHeader& h = m_shm->header;
        const NetmoeSide me{&h.to_scenario_seq, &h.scenario_waiting, &h.scenario_cpu};
        const NetmoeSide python{&h.to_python_seq, &h.python_waiting, &h.python_cpu};
        double waited = 0.0;
        const double slice = 0.1;
        for (double spin = m_spin;; spin = 0.0) // spin in the first slice only
        {
            if (netmoe_wait(&me, &python, m_lastAction, spin, slice) == 0)
            {
                break;
            }
            waited += slice;
            if (!PeerAlive())
            {
                throw BridgeError("netmoe bridge: Python peer (pid " + std::to_string(m_parent) +
                                  ") is gone");
            }
            if (waited >= m_timeout)
            {
                throw BridgeError("netmoe bridge: no action from Python within " +
                                  std::to_string(m_timeout) + " s");
            }
        }
        m_lastAction = netmoe_load(&h.to_scenario_seq);
    }

    bool PeerAlive() const
    {
        if (m_episodeParent != 0 && getppid() != m_episodeParent)
        {
            return false; // the process that forked this episode is gone
        }
        if (m_episodeParent == 0 && m_isChild && getppid() != m_parent)
        {
            return false; // re-parented: the Python process died
        }
        return !(kill(m_parent, 0) != 0 && errno == ESRCH);
    }

    NetmoeShm* m_shm{nullptr};
    double m_spin; //!< seconds
    double m_timeout;
    int32_t m_parent{0};
    bool m_isChild{true};
    bool m_isTryChild{false};
    pid_t m_episodeParent{0}; //!< in an episode's child: the process that forked it
    uint64_t m_episodes{0};   //!< episodes forked so far
    uint32_t m_lastAction{0};
};

} // namespace netmoe

#endif /* NETMOE_BRIDGE_H */
