/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Lock-step signalling between the two bridge peers: a sequence word that one side
 * bumps after writing its message and the other side waits on.
 *
 * A wait spins only while spinning can pay, then sleeps in futex(2), so a side that
 * only waits burns no CPU:
 *  - never while the peer last ran on our CPU (each side publishes its CPU in the
 *    header whenever it starts a wait and whenever it wakes): it needs the very CPU
 *    we would spin on. A peer that publishes nothing (built before these words
 *    existed) counts as elsewhere unless our affinity mask holds a single CPU;
 *  - yielding instead of pausing while the peer has been woken but is not running
 *    yet (its "waiting" flag is still up), in case it is queued behind us;
 *  - for at most spin_s seconds of wall time, whatever the CPU's pause latency.
 * With both peers awake on separate CPUs a round trip costs a few microseconds; on
 * one CPU it costs two context switches instead of a scheduler slice of spinning.
 * Every wait has a timeout, so a caller can look at its peer between slices and never
 * hang. Shared by the C++ scenario side (netmoe/bridge.h) and the Python extension;
 * both must be compiled with _GNU_SOURCE (g++ and Python.h define it).
 */
#ifndef NETMOE_SYNC_H
#define NETMOE_SYNC_H

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The words of one side of the exchange, all in the shared header. */
typedef struct NetmoeSide
{
  uint32_t* seq;     /* bumped by the other side when it has written a message for us */
  uint32_t* waiting; /* 1 while this side sleeps in futex on seq */
  uint32_t* cpu;     /* 1 + the CPU this side last ran on; 0 = unknown (an older peer) */
} NetmoeSide;

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

static inline double
netmoe_now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Number of CPUs this thread may run on, re-read at most every 50 ms (the mask can
 * change under us: taskset -p, os.sched_setaffinity). */
static inline int
netmoe_cpus_allowed(double now)
{
  static long checked_ms = -1;
  static int count = 0;
  long now_ms = (long)(now * 1e3);
  long at = __atomic_load_n(&checked_ms, __ATOMIC_RELAXED);
  if (at < 0 || now_ms - at > 50)
  {
    cpu_set_t set;
    int n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 2;
    __atomic_store_n(&count, n, __ATOMIC_RELAXED);
    __atomic_store_n(&checked_ms, now_ms, __ATOMIC_RELAXED);
    return n;
  }
  return __atomic_load_n(&count, __ATOMIC_RELAXED);
}

/* Tell the peer where this side runs (1 + CPU number). */
static inline void
netmoe_publish_cpu(uint32_t* cpu)
{
  int c = sched_getcpu();
  uint32_t v = c >= 0 ? (uint32_t)c + 1u : 0u;
  if (__atomic_load_n(cpu, __ATOMIC_RELAXED) != v) /* no needless writes to a shared line */
  {
    __atomic_store_n(cpu, v, __ATOMIC_RELAXED);
  }
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

/* May the peer be running while we spin? 0 when it last ran on our CPU. */
static inline int
netmoe_peer_elsewhere(const NetmoeSide* peer, double now)
{
  uint32_t pc = __atomic_load_n(peer->cpu, __ATOMIC_RELAXED);
  if (pc == 0u)
  {
    return netmoe_cpus_allowed(now) > 1; /* unknown: at least we could be apart */
  }
  int mine = sched_getcpu();
  return mine < 0 || pc != (uint32_t)mine + 1u;
}

/* Busy-poll *me.seq while the peer is running on another CPU, for at most spin_s.
 * Returns 1 when the sequence moved. */
static inline int
netmoe_spin(const NetmoeSide* me, const NetmoeSide* peer, uint32_t last_seen, double start,
            double spin_s)
{
  if (spin_s <= 0.0 || !netmoe_peer_elsewhere(peer, start))
  {
    return 0;
  }
  for (unsigned i = 1;; ++i)
  {
    if (netmoe_load(me->seq) != last_seen)
    {
      return 1;
    }
    if ((i & 15u) == 0u) /* every 16 polls (well under a microsecond): still worth it? */
    {
      double now = netmoe_now_s();
      if (now - start >= spin_s)
      {
        return 0;
      }
      if (__atomic_load_n(peer->waiting, __ATOMIC_RELAXED))
      {
        sched_yield(); /* woken, not yet running: it may be queued on our CPU */
        continue;
      }
      if (!netmoe_peer_elsewhere(peer, now))
      {
        return 0; /* the peer needs the CPU we would spin on */
      }
    }
    netmoe_cpu_relax();
  }
}

/* Wait until *me.seq != last_seen: spin while that can pay (at most spin_s seconds),
 * then sleep. Returns 0 on change, ETIMEDOUT after timeout_s seconds. */
static inline int
netmoe_wait(const NetmoeSide* me, const NetmoeSide* peer, uint32_t last_seen, double spin_s,
            double timeout_s)
{
  if (netmoe_load(me->seq) != last_seen)
  {
    netmoe_publish_cpu(me->cpu);
    return 0;
  }
  double start = netmoe_now_s();
  netmoe_publish_cpu(me->cpu);
  if (netmoe_spin(me, peer, last_seen, start, spin_s))
  {
    return 0;
  }
  for (;;)
  {
    __atomic_store_n(me->waiting, 1u, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(me->seq, __ATOMIC_SEQ_CST) != last_seen)
    {
      __atomic_store_n(me->waiting, 0u, __ATOMIC_SEQ_CST);
      netmoe_publish_cpu(me->cpu);
      return 0;
    }
    double left = timeout_s - (netmoe_now_s() - start);
    if (left <= 0.0)
    {
      __atomic_store_n(me->waiting, 0u, __ATOMIC_SEQ_CST);
      return ETIMEDOUT;
    }
    struct timespec rel;
    rel.tv_sec = (time_t)left;
    rel.tv_nsec = (long)((left - (double)rel.tv_sec) * 1e9);
    /* Returns at once (EAGAIN) if the peer bumped *seq after our check. */
    syscall(SYS_futex, me->seq, FUTEX_WAIT, last_seen, &rel, NULL, 0);
    __atomic_store_n(me->waiting, 0u, __ATOMIC_SEQ_CST);
    if (netmoe_load(me->seq) != last_seen)
    {
      netmoe_publish_cpu(me->cpu); /* where we woke is where we will work */
      return 0;
    }
  }
}

#endif /* NETMOE_SYNC_H */
