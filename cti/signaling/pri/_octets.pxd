# The compiled bodies of _octets.py (same names, same results): one bytes object written in
# place. The compiled data link (link_c) and message codec (message_c) cimport them as _octets.
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.tuple cimport PyTuple_GET_ITEM
from libc.string cimport memcpy


cdef inline bytes head(int mtype, int cref, bint flag):
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 5)
    cdef unsigned char* q = <unsigned char*>PyBytes_AS_STRING(out)
    q[0] = 0x08
    q[1] = 2
    q[2] = ((cref >> 8) & 0x7F) | (0x80 if flag else 0)
    q[3] = cref & 0xFF
    q[4] = mtype & 0x7F
    return out


cdef inline bytes join_wires(int mtype, int cref, bint flag, list wires):
    cdef Py_ssize_t n = 5, k, j, m = PyList_GET_SIZE(wires)
    cdef object p
    for j in range(m):
        p = <object>PyTuple_GET_ITEM(<object>PyList_GET_ITEM(wires, j), 1)
        n += PyBytes_GET_SIZE(p)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    cdef unsigned char* q = <unsigned char*>PyBytes_AS_STRING(out)
    q[0] = 0x08
    q[1] = 2
    q[2] = ((cref >> 8) & 0x7F) | (0x80 if flag else 0)
    q[3] = cref & 0xFF
    q[4] = mtype & 0x7F
    k = 5
    for j in range(m):
        p = <object>PyTuple_GET_ITEM(<object>PyList_GET_ITEM(wires, j), 1)
        memcpy(q + k, PyBytes_AS_STRING(p), PyBytes_GET_SIZE(p))
        k += PyBytes_GET_SIZE(p)
    return out


cdef inline bytes frame(bytes addr, int ns, int nr, bytes info):
    cdef Py_ssize_t n = PyBytes_GET_SIZE(info)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 4 + n)
    cdef unsigned char* q = <unsigned char*>PyBytes_AS_STRING(out)
    cdef const unsigned char* a = <const unsigned char*>PyBytes_AS_STRING(addr)
    q[0] = a[0]
    q[1] = a[1]
    q[2] = (ns & 0x7F) << 1
    q[3] = (nr & 0x7F) << 1
    memcpy(q + 4, PyBytes_AS_STRING(info), n)
    return out


cdef inline bytes sframe(bytes addr, int control, int nr, bint pf):
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 4)
    cdef unsigned char* q = <unsigned char*>PyBytes_AS_STRING(out)
    cdef const unsigned char* a = <const unsigned char*>PyBytes_AS_STRING(addr)
    q[0] = a[0]
    q[1] = a[1]
    q[2] = control
    q[3] = ((nr & 0x7F) << 1) | (1 if pf else 0)
    return out


cdef inline bytes tail(bytes data, Py_ssize_t start):
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data) - start
    if n <= 0:
        return b""
    return PyBytes_FromStringAndSize(PyBytes_AS_STRING(data) + start, n)
