# The compiled ISUP codec's C-level helpers that control_c shares (cimport).

cdef class Slots:
    cdef object cls
    cdef tuple names, defaults
    cdef Py_ssize_t offs[16]
    cdef Py_ssize_t n
    cdef bint direct
    cdef object get(self, object obj, Py_ssize_t i)
    cdef object make(self, tuple values)


cdef int hexval(Py_UCS4 u) noexcept
cdef object decode_as(object data, bint build)
cdef int cause_value(bytes b) noexcept
