# Declarations that compile message_py.py (pure-Python mode) as message_c.
cimport cython
from cti.signaling.pri cimport _octets

cdef dict _NEED, _NEED_NET, IE_TYPES_ID
cdef bytes _KIND, _DIGIT
cdef int _SC


cdef class Message:
    cdef public int mtype
    cdef public object cref
    cdef public bint flag
    cdef bytes _data
    cdef Py_ssize_t _start
    cdef list _ies, _unrec, _inv

    cdef _expand(self)
    @cython.locals(data=bytes, n=Py_ssize_t, i=Py_ssize_t, o=int)
    cpdef int _find(self, int ident) except -2
    @cython.locals(ident=int, i=Py_ssize_t, data=bytes)
    cpdef get(self, object kind)
    @cython.locals(data=bytes, p=Py_ssize_t, j=Py_ssize_t, o3=int, d=dict)
    cdef _number(self, object kind, int i)
    @cython.locals(i=Py_ssize_t, data=bytes)
    cpdef str called_digits(self)
    cpdef bint has(self, int ident) except -1
    @cython.locals(i=Py_ssize_t, data=bytes)
    cpdef int cause_value(self, int default=*) except -1
    @cython.locals(i=Py_ssize_t, data=bytes)
    cpdef int progress(self) except -1
    @cython.locals(i=Py_ssize_t, data=bytes)
    cpdef int call_state(self) except -2
    @cython.locals(i=Py_ssize_t, j=Py_ssize_t, data=bytes, o3=int)
    cpdef int channel(self) except -1
    @cython.locals(need=tuple, i=int, u=int)
    cpdef problem(self, bint from_network)


@cython.locals(last=int, k=int, n=Py_ssize_t, ordered=bint, ws=list, w=tuple, i=Py_ssize_t, j=Py_ssize_t)
cpdef bytes encode_parts(int mtype, object cref, bint flag, object ies, object cref_len=*)
cpdef bytes encode_header(int mtype, object cref, bint flag)
@cython.locals(b=bytes, n=Py_ssize_t, crl=int, flag=bint, mtype=int, m=Message)
cpdef Message decode(object data, int cref_len=*)
@cython.locals(n=Py_ssize_t, i=Py_ssize_t, o=int, ln=int, k=int)
cdef bint _scan(bytes data, Py_ssize_t start) except -1
@cython.locals(e=Py_ssize_t, j=Py_ssize_t, o3=int, o32=int, c=int)
cdef bint _valid(int ident, bytes data, Py_ssize_t p, Py_ssize_t ln) except -1
@cython.locals(d=dict, hit=tuple)
cpdef tuple _wire(object e)
@cython.locals(digits=bytes)
cdef bytes _number_body(object e)
@cython.locals(body=bytes, head=bytes, o3=int)
cpdef tuple number_wire(int ident, str digits, int ton, int plan, int presentation=*, int screening=*)
