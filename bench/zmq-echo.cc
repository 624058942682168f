/* SPDX-License-Identifier: GPL-2.0-only
 *
 * zmq-echo: the ZeroMQ REQ/REP transport of ns3-gym doing the same exchange as
 * bridge-echo, for bench/bridge_roundtrip.py. It receives an action-sized message,
 * fills a report-sized reply from it the way bridge-echo does, and sends it back.
 *
 *   zmq-echo tcp://127.0.0.1:5555   (or ipc:///tmp/netmoe-bench.ipc)
 *
 * Built by `netmoe build` against a system libzmq (libzmq3-dev) when there is one, else
 * against the copy inside the pyzmq wheel (CMakeLists.txt).
 */
#include "netmoe/messages.h"

#include <cmath>
#include <cstddef>
#include <cstring>
#include <iostream>

#ifndef NETMOE_ZMQ_ABI_ONLY
#include <zmq.h>
#else
// Built against the libzmq that the pyzmq wheel bundles, which ships no headers: the
// few functions used here, as declared by zmq.h since libzmq 4.0 (a stable C ABI).
extern "C"
{
    void* zmq_ctx_new(void);
    int zmq_ctx_destroy(void* context);
    void* zmq_socket(void* context, int type);
    int zmq_bind(void* socket, const char* endpoint);
    int zmq_close(void* socket);
    int zmq_send(void* socket, const void* buf, size_t len, int flags);
    int zmq_recv(void* socket, void* buf, size_t len, int flags);
    int zmq_errno(void);
    const char* zmq_strerror(int errnum);
}
#define ZMQ_REP 4
#endif

int
main(int argc, char** argv)
{
    if (argc != 2)
    {
        std::cerr << "usage: zmq-echo ENDPOINT\n";
        return 2;
    }
    void* ctx = zmq_ctx_new();
    void* sock = zmq_socket(ctx, ZMQ_REP);
    if (zmq_bind(sock, argv[1]) != 0)
    {
        std::cerr << "zmq-echo: bind " << argv[1] << ": " << zmq_strerror(zmq_errno()) << "\n";
        return 3;
    }
    NetmoeAction a{};
    NetmoeReport r{};
    uint32_t steps = 0;
    for (;;)
    {
        int n = zmq_recv(sock, &a, sizeof(a), 0);
        if (n < 0)
        {
            break;
        }
        if (a.command == NETMOE_CMD_STOP)
        {
            zmq_send(sock, &r, sizeof(r), 0);
            break;
        }
        r.status = NETMOE_STATUS_STEPPED;
        r.task_id = a.task_id;
        r.num_subtasks = a.num_subtasks;
        r.sim_time_s = ++steps;
        for (uint32_t k = 0; k < a.num_subtasks && k < NETMOE_MAX_SUBTASKS; ++k)
        {
            r.subtask_delay_s[k] = a.reply_bytes[k] * 1e-6 + a.compute_s[k];
        }
        zmq_send(sock, &r, sizeof(r), 0);
    }
    zmq_close(sock);
    zmq_ctx_destroy(ctx);
    return 0;
}
