# Declarations that compile machine_py.py (pure-Python mode) as cti.signaling.machine_c.

cdef class MachineCore:
    cdef public object table, ctx, state, trace, name
    cdef public dict running, values
    cdef dict _by_state, _any, _entry, _expiry

    cdef tuple _select(self, object event, object message)
    cpdef bint allowed(self, object event, object message=*)
    cpdef object fire(self, object event, object message=*, object now=*)
    cpdef bint fire_if(self, object event, object message=*, object now=*) except -1
    cdef int _apply(self, tuple row, object event, object message, object now) except -1
    cpdef object deadline(self)
    cpdef bint is_running(self, str timer)
