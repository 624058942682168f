/* SPDX-License-Identifier: GPL-2.0-only
 *
 * netmoe bridge messages: the one definition of what crosses the shared-memory
 * bridge between a scenario process (C++) and Python.
 *
 * Each message is described once, as an X-macro field list. From that list:
 *  - C and C++ get plain structs (NetmoeAction, NetmoeReport, NetmoeShm);
 *  - the Python extension (pybridge/native/_shm.c) exports every field's name,
 *    offset, NumPy type code and element count, and pybridge builds its NumPy
 *    views from that table, so the names and offsets cannot drift apart.
 *
 * Field macros: S(ctype, "numpy-code", name) for a scalar,
 *               A(ctype, "numpy-code", name, count) for a fixed-size array.
 * Change a field => bump NETMOE_BRIDGE_VERSION. (The *_cpu words were carved out of
 * padding without a bump: zero means "unknown" and a peer that never writes them
 * still works, it only waits less cleverly.)
 */
#ifndef NETMOE_MESSAGES_H
#define NETMOE_MESSAGES_H

#include <stdint.h>

#define NETMOE_BRIDGE_MAGIC 0x454f4d4eu /* "NMOE" little-endian */
#define NETMOE_BRIDGE_VERSION 5u
#define NETMOE_MAX_EXPERTS 32
#define NETMOE_MAX_SUBTASKS 16
#define NETMOE_MAX_USERS 16 /* user devices of one scenario (--numUsers) */

/* NetmoeAction.command */
#define NETMOE_CMD_STEP 1u /* run one generative task with the given assignment */
#define NETMOE_CMD_STOP 2u /* finish: the scenario process exits cleanly */
#define NETMOE_CMD_TRY 3u  /* run the task in a forked copy; report it; state unchanged */
#define NETMOE_CMD_RESET 4u /* end the episode; start a new one with ns-3 run rng_run */

/* NetmoeReport.status */
#define NETMOE_STATUS_READY 1u /* first report of an episode: observation only */
#define NETMOE_STATUS_STEPPED 2u /* measurements of the task just run + next observation */

/*
 * Python -> scenario: one user device's generative task and where each subtask runs.
 * A round is every user's task (action[u] for user u < num_users); command, rng_run,
 * num_users and next_gap_s are read from action[0] only.
 */
#define NETMOE_ACTION_FIELDS(S, A)                                                       \
  S(uint32_t, "<u4", command)                                                            \
  S(uint32_t, "<u4", num_users)          /* users in the round (action[0]; 0 means 1) */ \
  S(uint32_t, "<u4", task_id)            /* counter, for logs */                         \
  S(uint32_t, "<u4", num_subtasks)       /* K <= NETMOE_MAX_SUBTASKS */                  \
  S(uint32_t, "<u4", rng_run)            /* RESET: the new episode's ns-3 run number */  \
  A(int32_t, "<i4", target, NETMOE_MAX_SUBTASKS)         /* 0 local, i expert i */      \
  A(uint32_t, "<u4", request_bytes, NETMOE_MAX_SUBTASKS) /* user -> expert payload */   \
  A(uint32_t, "<u4", reply_bytes, NETMOE_MAX_SUBTASKS)   /* expert -> user payload */   \
  A(double, "<f8", compute_s, NETMOE_MAX_SUBTASKS)       /* expert's generation time */ \
  /* --serving: what the LLM servers generate (prefill the prompt, decode the reply) */  \
  A(uint32_t, "<u4", prompt_tokens, NETMOE_MAX_SUBTASKS)                                 \
  A(uint32_t, "<u4", reply_tokens, NETMOE_MAX_SUBTASKS)                                  \
  S(uint32_t, "<u4", fusion_prompt_tokens) /* the user device fuses the replies */       \
  S(uint32_t, "<u4", fusion_reply_tokens)                                                \
  S(double, "<f8", deadline_s)           /* give up on replies after this long */        \
  S(double, "<f8", next_gap_s)           /* simulated idle time before the next task */  \
  S(double, "<f8", start_offset_s)       /* the task starts this long after the round */

/* Scenario -> Python: what the task measured, and what the user device knows now. */
#define NETMOE_REPORT_FIELDS(S, A)                                                       \
  S(uint32_t, "<u4", status)                                                             \
  S(uint32_t, "<u4", task_id)                                                            \
  S(uint32_t, "<u4", num_experts)                                                        \
  S(uint32_t, "<u4", num_subtasks)                                                       \
  S(double, "<f8", sim_time_s)           /* simulated time now */                        \
  S(double, "<f8", task_start_s)                                                         \
  S(double, "<f8", task_end_s)                                                           \
  S(double, "<f8", ue_energy_j)          /* user-device radio energy over the task */    \
  S(uint64_t, "<u8", sim_events)         /* ns-3 events run so far this episode */       \
  /* per expert, over the task just run (index 0 = expert 1) */                          \
  A(double, "<f8", snr_db, NETMOE_MAX_EXPERTS)         /* mean SNR at the user, NaN: none */ \
  A(double, "<f8", goodput_mbps, NETMOE_MAX_EXPERTS)   /* reply bytes / transfer time */ \
  A(double, "<f8", delay_s, NETMOE_MAX_EXPERTS)        /* request sent -> last reply byte */ \
  A(double, "<f8", energy_j, NETMOE_MAX_EXPERTS)       /* user radio energy, by airtime */ \
  A(uint64_t, "<u8", bytes_delivered, NETMOE_MAX_EXPERTS)                                \
  A(uint64_t, "<u8", bytes_expected, NETMOE_MAX_EXPERTS)                                 \
  A(uint32_t, "<u4", packets_sent, NETMOE_MAX_EXPERTS)   /* MAC data frames, both ways */ \
  A(uint32_t, "<u4", packets_lost, NETMOE_MAX_EXPERTS)   /* MAC frames dropped */       \
  A(uint32_t, "<u4", retransmissions, NETMOE_MAX_EXPERTS)                                \
  A(uint32_t, "<u4", replies_lost, NETMOE_MAX_EXPERTS)   /* replies not in by deadline */ \
  /* per subtask */                                                                      \
  A(double, "<f8", subtask_delay_s, NETMOE_MAX_SUBTASKS)                                 \
  A(uint32_t, "<u4", subtask_delivered, NETMOE_MAX_SUBTASKS)                             \
  /* what the user device knows before the next task (never the future) */              \
  A(double, "<f8", obs_snr_db, NETMOE_MAX_EXPERTS)       /* last heard, NaN: never */    \
  A(double, "<f8", obs_goodput_mbps, NETMOE_MAX_EXPERTS) /* last measured, 0: never */   \
  A(double, "<f8", obs_age_s, NETMOE_MAX_EXPERTS)        /* since last heard */          \
  A(uint32_t, "<u4", obs_associated, NETMOE_MAX_EXPERTS) /* link layer up */             \
  /* ground truth for analysis only: never put in the observation */                     \
  A(double, "<f8", distance_m, NETMOE_MAX_EXPERTS)                                       \
  NETMOE_REPORT_SERVING_FIELDS(S, A)                                                     \
  NETMOE_REPORT_ROUND_FIELDS(S, A)

/*
 * The serving model's measurements (--serving; in a standalone run's JSON only with it,
 * so that --serving=0 prints what the scenario printed before it existed). Times from
 * the task start; NaN: never happened.
 */
#define NETMOE_REPORT_SERVING_FIELDS(S, A)                                               \
  /* per subtask */                                                                      \
  A(double, "<f8", ttft_s, NETMOE_MAX_SUBTASKS)       /* request sent -> first reply byte */ \
  A(double, "<f8", completion_s, NETMOE_MAX_SUBTASKS) /* request sent -> last reply byte */ \
  A(double, "<f8", queue_wait_s, NETMOE_MAX_SUBTASKS) /* in the server's FIFO */         \
  A(uint32_t, "<u4", subtask_rejected, NETMOE_MAX_SUBTASKS) /* queue full: 503 reply */  \
  A(double, "<f8", generation_s, NETMOE_MAX_SUBTASKS) /* expert's queue+prefill+decode, */ \
                                        /* in the reply's last chunk (llama.cpp timings) */ \
  S(double, "<f8", task_latency_s)    /* start -> last subtask (local too) + fusion */   \
  /* per expert, what the user device knows (never the future) */                        \
  A(double, "<f8", obs_queue_len, NETMOE_MAX_EXPERTS)   /* last in a reply header, NaN: none */ \
  A(double, "<f8", obs_queue_age_s, NETMOE_MAX_EXPERTS) /* since it arrived */

/*
 * Per expert over the round (every user's report has the same values): ground truth for
 * analysis, never an observation. In a standalone run's JSON only with --numUsers > 1,
 * so that one user prints what it printed before users existed.
 */
#define NETMOE_REPORT_ROUND_FIELDS(S, A)                                                 \
  A(double, "<f8", expert_queue_len_mean, NETMOE_MAX_EXPERTS) /* time-average, waiting + */ \
                                                     /* in service, over the round */     \
  A(uint32_t, "<u4", expert_queue_len_max, NETMOE_MAX_EXPERTS)

#define NETMOE_DECLARE_SCALAR(ctype, code, name) ctype name;
#define NETMOE_DECLARE_ARRAY(ctype, code, name, count) ctype name[count];

typedef struct NetmoeAction
{
  NETMOE_ACTION_FIELDS(NETMOE_DECLARE_SCALAR, NETMOE_DECLARE_ARRAY)
} NetmoeAction;

typedef struct NetmoeReport
{
  NETMOE_REPORT_FIELDS(NETMOE_DECLARE_SCALAR, NETMOE_DECLARE_ARRAY)
} NetmoeReport;

/* The synchronisation words sit on their own cache lines: the two sides spin on them. */
#define NETMOE_HEADER_FIELDS(S, A)                                                       \
  S(uint32_t, "<u4", magic)                                                              \
  S(uint32_t, "<u4", version)                                                            \
  S(uint32_t, "<u4", action_size)                                                        \
  S(uint32_t, "<u4", report_size)                                                        \
  S(int32_t, "<i4", python_pid)                                                          \
  S(int32_t, "<i4", scenario_pid)                                                        \
  A(uint8_t, "<u1", pad1, 40)                                                            \
  S(uint32_t, "<u4", to_scenario_seq)    /* futex: bumped when an action is written */   \
  S(uint32_t, "<u4", scenario_waiting)   /* scenario is asleep on to_scenario_seq */     \
  S(uint32_t, "<u4", scenario_cpu)       /* 1 + CPU it last ran on (0: unknown) */       \
  A(uint8_t, "<u1", pad2, 52)                                                            \
  S(uint32_t, "<u4", to_python_seq)      /* futex: bumped when a report is written */    \
  S(uint32_t, "<u4", python_waiting)                                                     \
  S(uint32_t, "<u4", python_cpu)                                                         \
  A(uint8_t, "<u1", pad3, 52)                                                            \
  A(char, "S1", error, 256)              /* scenario's last words, NUL-terminated */

typedef struct NetmoeHeader
{
  NETMOE_HEADER_FIELDS(NETMOE_DECLARE_SCALAR, NETMOE_DECLARE_ARRAY)
} NetmoeHeader;

/* The whole segment: user u's task in action[u], its measurements in report[u]. */
typedef struct NetmoeShm
{
  NetmoeHeader header;
  NetmoeAction action[NETMOE_MAX_USERS];
  NetmoeReport report[NETMOE_MAX_USERS];
} NetmoeShm;

#ifdef __cplusplus
#include <cstddef>
#include <type_traits>
static_assert(std::is_trivially_copyable_v<NetmoeAction>, "bridge messages are raw memory");
static_assert(std::is_trivially_copyable_v<NetmoeReport>, "bridge messages are raw memory");
static_assert(std::is_trivially_copyable_v<NetmoeShm>, "bridge messages are raw memory");
static_assert(offsetof(NetmoeHeader, to_scenario_seq) % 64 == 0, "futex word on its own line");
static_assert(offsetof(NetmoeHeader, to_python_seq) % 64 == 0, "futex word on its own line");
#endif

#endif /* NETMOE_MESSAGES_H */
