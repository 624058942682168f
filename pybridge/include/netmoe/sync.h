/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Lock-step signalling between the two bridge peers: a sequence word that one side
 * bumps after writing its message and the other side waits on.
 *
 * The waiter spins briefly (a round trip costs a few microseconds when both peers
 * are awake), then sleeps in futex(2) so an idle side burns no CPU. Every wait has
 * a timeout, so a caller can look at its peer between slices and never hang.
 * Shared by the C++ scenario side (netmoe/bridge.h) and the Python extension.
 */
#ifndef NETMOE_SYNC_H
#define NETMOE_SYNC_H

#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline uint32_t
netmoe_load(const uint32_t* word)
{
  return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

static inline void
netmoe_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Publish: the message is written; bump the sequence and wake the peer if it sleeps.
 * Sequentially consistent so that "bump, then read waiting" here and "set waiting,
 * then re-read seq" in netmoe_wait cannot both miss each other. */
static inline void
netmoe_post(uint32_t* seq, uint32_t* peer_waiting)
{
  __atomic_add_fetch(seq, 1u, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(peer_waiting, __ATOMIC_SEQ_CST))
  {
    syscall(SYS_futex, seq, FUTEX_WAKE, 1, NULL, NULL, 0);
  }
}

/* Wait until *seq != last_seen, spinning spin_iters times first, then sleeping.
 * Returns 0 on change, ETIMEDOUT after timeout_s seconds. */
static inline int
netmoe_wait(uint32_t* seq, uint32_t* my_waiting, uint32_t last_seen, long spin_iters,
            double timeout_s)
{
  for (long i = 0; i < spin_iters; ++i)
  {
    if (netmoe_load(seq) != last_seen)
    {
      return 0;
    }
    netmoe_cpu_relax();
  }
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;)
  {
    __atomic_store_n(my_waiting, 1u, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(seq, __ATOMIC_SEQ_CST) != last_seen)
    {
      __atomic_store_n(my_waiting, 0u, __ATOMIC_SEQ_CST);
      return 0;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double elapsed = (double)(now.tv_sec - start.tv_sec) + 1e-9 * (double)(now.tv_nsec - start.tv_nsec);
    double left = timeout_s - elapsed;
    if (left <= 0.0)
    {
      __atomic_store_n(my_waiting, 0u, __ATOMIC_SEQ_CST);
      return ETIMEDOUT;
    }
    struct timespec rel;
    rel.tv_sec = (time_t)left;
    rel.tv_nsec = (long)((left - (double)rel.tv_sec) * 1e9);
    /* Returns at once (EAGAIN) if the peer bumped *seq after our check. */
    syscall(SYS_futex, seq, FUTEX_WAIT, last_seen, &rel, NULL, 0);
    __atomic_store_n(my_waiting, 0u, __ATOMIC_SEQ_CST);
    if (netmoe_load(seq) != last_seen)
    {
      return 0;
    }
  }
}

#endif /* NETMOE_SYNC_H */
