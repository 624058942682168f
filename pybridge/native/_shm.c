/* SPDX-License-Identifier: GPL-2.0-only
 *
 * pybridge._shm: the Python side's native part of the netmoe bridge.
 *
 * Three things Python cannot do well by itself: wait on a futex (with the GIL
 * released, after a spin that only happens while it can pay), post with the right memory ordering, and know the
 * C layout of the messages. layout() exports every field of messages.h (name,
 * offset, NumPy type code, count) so pybridge builds its NumPy views from the one
 * definition the scenarios are compiled with.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>

#include "netmoe/messages.h"
#include "netmoe/sync.h"

/* A side's three words (seq, waiting, cpu) at byte offsets into the segment. */
static int
get_side(const Py_buffer* view, Py_ssize_t seq_off, Py_ssize_t waiting_off, Py_ssize_t cpu_off,
         NetmoeSide* side)
{
  Py_ssize_t offs[3] = {seq_off, waiting_off, cpu_off};
  for (int i = 0; i < 3; ++i)
  {
    if (offs[i] < 0 || offs[i] % 4 != 0 || offs[i] + 4 > view->len)
    {
      PyErr_SetString(PyExc_ValueError, "futex word offset out of range or misaligned");
      return -1;
    }
  }
  char* base = (char*)view->buf;
  side->seq = (uint32_t*)(base + seq_off);
  side->waiting = (uint32_t*)(base + waiting_off);
  side->cpu = (uint32_t*)(base + cpu_off);
  return 0;
}

PyDoc_STRVAR(wait_doc,
             "wait(buffer, me, peer, last_seen, spin_s, timeout_s) -> bool\n\n"
             "Block until my sequence word differs from last_seen (True) or timeout_s\n"
             "passes (False). me and peer are (seq, waiting, cpu) byte offsets. Spins at\n"
             "most spin_s seconds, only while the peer runs on another CPU (netmoe/sync.h);\n"
             "releases the GIL.");

static PyObject*
shm_wait(PyObject* self, PyObject* args)
{
  PyObject* buffer;
  Py_ssize_t m[3], p[3];
  unsigned int last_seen;
  double spin_s, timeout_s;
  if (!PyArg_ParseTuple(args, "O(nnn)(nnn)Idd", &buffer, &m[0], &m[1], &m[2], &p[0], &p[1],
                        &p[2], &last_seen, &spin_s, &timeout_s))
  {
    return NULL;
  }
  Py_buffer view;
  if (PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE) != 0)
  {
    return NULL;
  }
  NetmoeSide me, peer;
  if (get_side(&view, m[0], m[1], m[2], &me) != 0 || get_side(&view, p[0], p[1], p[2], &peer) != 0)
  {
    PyBuffer_Release(&view);
    return NULL;
  }
  int rc;
  Py_BEGIN_ALLOW_THREADS
  rc = netmoe_wait(&me, &peer, last_seen, spin_s, timeout_s);
  Py_END_ALLOW_THREADS
  PyBuffer_Release(&view);
  return PyBool_FromLong(rc == 0);
}

PyDoc_STRVAR(post_doc, "post(buffer, seq_offset, peer_waiting_offset)\n\n"
                       "Bump the uint32 sequence at seq_offset and wake the peer if it sleeps.");

static PyObject*
shm_post(PyObject* self, PyObject* args)
{
  PyObject* buffer;
  Py_ssize_t seq_off, waiting_off;
  if (!PyArg_ParseTuple(args, "Onn", &buffer, &seq_off, &waiting_off))
  {
    return NULL;
  }
  Py_buffer view;
  if (PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE) != 0)
  {
    return NULL;
  }
  NetmoeSide peer;
  if (get_side(&view, seq_off, waiting_off, seq_off, &peer) != 0)
  {
    PyBuffer_Release(&view);
    return NULL;
  }
  netmoe_post(peer.seq, peer.waiting);
  PyBuffer_Release(&view);
  Py_RETURN_NONE;
}

PyDoc_STRVAR(exchange_doc,
             "exchange(buffer, me, peer, last_seen, spin_s, timeout_s) -> int\n\n"
             "post() on the peer's sequence word, then wait() on mine, in one call (the hot\n"
             "path of a step). Returns my new sequence value, or -1 if timeout_s passed.");

static PyObject*
shm_exchange(PyObject* self, PyObject* args)
{
  PyObject* buffer;
  Py_ssize_t m[3], p[3];
  unsigned int last_seen;
  double spin_s, timeout_s;
  if (!PyArg_ParseTuple(args, "O(nnn)(nnn)Idd", &buffer, &m[0], &m[1], &m[2], &p[0], &p[1],
                        &p[2], &last_seen, &spin_s, &timeout_s))
  {
    return NULL;
  }
  Py_buffer view;
  if (PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE) != 0)
  {
    return NULL;
  }
  NetmoeSide me, peer;
  if (get_side(&view, m[0], m[1], m[2], &me) != 0 || get_side(&view, p[0], p[1], p[2], &peer) != 0)
  {
    PyBuffer_Release(&view);
    return NULL;
  }
  int rc;
  uint32_t now;
  Py_BEGIN_ALLOW_THREADS
  netmoe_post(peer.seq, peer.waiting);
  rc = netmoe_wait(&me, &peer, last_seen, spin_s, timeout_s);
  now = netmoe_load(me.seq);
  Py_END_ALLOW_THREADS
  PyBuffer_Release(&view);
  return PyLong_FromLong(rc == 0 ? (long)now : -1L);
}

PyDoc_STRVAR(load_doc, "load(buffer, offset) -> int\n\nAcquire-load a uint32 sequence word.");

static PyObject*
shm_load(PyObject* self, PyObject* args)
{
  PyObject* buffer;
  Py_ssize_t off;
  if (!PyArg_ParseTuple(args, "On", &buffer, &off))
  {
    return NULL;
  }
  Py_buffer v;
  if (PyObject_GetBuffer(buffer, &v, PyBUF_WRITABLE) != 0)
  {
    return NULL;
  }
  NetmoeSide side;
  if (get_side(&v, off, off, off, &side) != 0)
  {
    PyBuffer_Release(&v);
    return NULL;
  }
  uint32_t value = netmoe_load(side.seq);
  PyBuffer_Release(&v);
  return PyLong_FromUnsignedLong(value);
}

/* ---- layout export --------------------------------------------------------- */

static int
append_field(PyObject* list, const char* name, size_t offset, const char* code, size_t count)
{
  PyObject* t = Py_BuildValue("(snsn)", name, (Py_ssize_t)offset, code, (Py_ssize_t)count);
  if (!t)
  {
    return -1;
  }
  int rc = PyList_Append(list, t);
  Py_DECREF(t);
  return rc;
}


#define DEFINE_EXPORTER(FN, STRUCT, FIELDS)                                                  \
  static PyObject* FN(void)                                                                  \
  {                                                                                          \
    PyObject* fields = PyList_New(0);                                                        \
    if (!fields) return NULL;                                                                \
    FIELDS(FN##_S, FN##_A)                                                                   \
    return fields;                                                                           \
  fail:                                                                                      \
    Py_DECREF(fields);                                                                       \
    return NULL;                                                                             \
  }

#define export_action_S(ctype, code, name)                                                   \
  if (append_field(fields, #name, offsetof(NetmoeAction, name), code, 1) != 0) goto fail;
#define export_action_A(ctype, code, name, count)                                            \
  if (append_field(fields, #name, offsetof(NetmoeAction, name), code, count) != 0) goto fail;
#define export_report_S(ctype, code, name)                                                   \
  if (append_field(fields, #name, offsetof(NetmoeReport, name), code, 1) != 0) goto fail;
#define export_report_A(ctype, code, name, count)                                            \
  if (append_field(fields, #name, offsetof(NetmoeReport, name), code, count) != 0) goto fail;
#define export_header_S(ctype, code, name)                                                   \
  if (append_field(fields, #name, offsetof(NetmoeHeader, name), code, 1) != 0) goto fail;
#define export_header_A(ctype, code, name, count)                                            \
  if (append_field(fields, #name, offsetof(NetmoeHeader, name), code, count) != 0) goto fail;

DEFINE_EXPORTER(export_action, NetmoeAction, NETMOE_ACTION_FIELDS)
DEFINE_EXPORTER(export_report, NetmoeReport, NETMOE_REPORT_FIELDS)
DEFINE_EXPORTER(export_header, NetmoeHeader, NETMOE_HEADER_FIELDS)

PyDoc_STRVAR(layout_doc,
             "layout() -> dict\n\nThe C layout of the bridge segment: sizes, offsets, constants\n"
             "and, per struct, a list of (name, offset, numpy_code, count).");

static PyObject*
shm_layout(PyObject* self, PyObject* noargs)
{
  PyObject* header = export_header();
  PyObject* action = export_action();
  PyObject* report = export_report();
  if (!header || !action || !report)
  {
    Py_XDECREF(header);
    Py_XDECREF(action);
    Py_XDECREF(report);
    return NULL;
  }
  return Py_BuildValue(
      "{s:N,s:N,s:N,s:n,s:n,s:n,s:n,s:n,s:n,s:I,s:I,s:i,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I}", "header", header,
      "action", action, "report", report, "header_size", (Py_ssize_t)sizeof(NetmoeHeader),
      "action_size", (Py_ssize_t)sizeof(NetmoeAction), "report_size",
      (Py_ssize_t)sizeof(NetmoeReport), "action_offset", (Py_ssize_t)offsetof(NetmoeShm, action),
      "report_offset", (Py_ssize_t)offsetof(NetmoeShm, report), "segment_size",
      (Py_ssize_t)sizeof(NetmoeShm), "magic", (unsigned)NETMOE_BRIDGE_MAGIC, "version",
      (unsigned)NETMOE_BRIDGE_VERSION, "max_experts", NETMOE_MAX_EXPERTS, "max_subtasks",
      NETMOE_MAX_SUBTASKS, "max_users", NETMOE_MAX_USERS, "cmd_step", (unsigned)NETMOE_CMD_STEP, "cmd_stop",
      (unsigned)NETMOE_CMD_STOP, "cmd_try", (unsigned)NETMOE_CMD_TRY, "cmd_reset",
      (unsigned)NETMOE_CMD_RESET, "status_ready", (unsigned)NETMOE_STATUS_READY, "status_stepped",
      (unsigned)NETMOE_STATUS_STEPPED);
}

static PyMethodDef methods[] = {
    {"wait", shm_wait, METH_VARARGS, wait_doc},
    {"post", shm_post, METH_VARARGS, post_doc},
    {"exchange", shm_exchange, METH_VARARGS, exchange_doc},
    {"load", shm_load, METH_VARARGS, load_doc},
    {"layout", shm_layout, METH_NOARGS, layout_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_shm", "Native part of the netmoe shared-memory bridge.", -1, methods,
};

PyMODINIT_FUNC
PyInit__shm(void)
{
  return PyModule_Create(&module);
}
