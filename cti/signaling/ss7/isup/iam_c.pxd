# Declarations that compile iam_py.py (pure-Python mode) as iam_c; control_c cimports them.
cimport cython

@cython.locals(n=Py_ssize_t, total=Py_ssize_t, k=Py_ssize_t, lo=long, hi=long, c=long)
cpdef bint write_address(bytearray out, Py_ssize_t at, str digits, int st) except -1


cdef class ReceivedIam:
    cdef public object called, calling, category

cpdef ReceivedIam iam_of(object msg)

cdef bytes _HEX
cdef bytearray _DIG
@cython.locals(out=bytearray, k=Py_ssize_t, i=Py_ssize_t, v=int)
cdef str _digits(bytes b, Py_ssize_t at, Py_ssize_t end, bint odd)
@cython.locals(n=Py_ssize_t, p=Py_ssize_t, q=Py_ssize_t, size=Py_ssize_t)
cpdef ReceivedIam read_iam(bytes b)
