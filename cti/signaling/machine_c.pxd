# Declarations that compile machine_py.py (pure-Python mode) as cti.signaling.machine_c.
cimport cython

cdef Py_ssize_t _SLOTS, _MASK
cdef dict _COMPILED

cdef class MachineCore
cdef class TimerQueue
cdef class Running


cdef class Actions:
    cdef int dispatch(self, Py_ssize_t index, object message, object now) except -1
    cdef int check(self, Py_ssize_t index, object message) except -1


cdef class CompiledRow:
    cdef public object guard, action, state, then, row
    cdef public Py_ssize_t nxt
    cdef public tuple stop_ix, start_ix
    cdef public CompiledRow alt
    cdef public Py_ssize_t aix, gix          # (appended: modules built against the older layout keep working)


cdef class Compiled:
    cdef public object table
    cdef public list states, events, cells, tnames, defaults
    cdef public list expiry
    cdef public dict state_ix, event_ix, tix, _values
    cdef public Py_ssize_t nev
    cdef Py_ssize_t _slotk[512]     # event object addresses (open addressing, _SLOTS slots)
    cdef Py_ssize_t _slotv[512]     # their indices

    @cython.locals(p=Py_ssize_t, h=Py_ssize_t)
    cdef int _put(self, object event, Py_ssize_t index) except -1
    @cython.locals(si=Py_ssize_t, ni=Py_ssize_t, base=Py_ssize_t, cells=list, c=CompiledRow, first=CompiledRow,
                   last=CompiledRow)
    cpdef Py_ssize_t _add_state(self, object s) except -1
    cpdef Py_ssize_t state_index(self, object state) except -1
    @cython.locals(p=Py_ssize_t, h=Py_ssize_t, k=Py_ssize_t)
    cpdef Py_ssize_t event_index(self, object event) except? -2
    cpdef tuple values_for(self, object overrides)
    # appended (the layout and the method table of older builds stay a prefix)
    cdef public object dtype
    cdef public dict numbers
    @cython.locals(numbers=dict)
    cdef int _number(self, CompiledRow c) except -1
    @cython.locals(numbers=dict, i=Py_ssize_t)
    cpdef int bind(self, object cls) except -1


cpdef Compiled compiled(object table)
cpdef bind_actions(object table, object cls)


cdef class TimerQueue:
    cdef list _heap
    cdef Py_ssize_t _seq

    @cython.locals(heap=list, top=tuple, m=MachineCore)
    cpdef push(self, MachineCore machine, object timer, object at)
    @cython.locals(heap=list, top=tuple, m=MachineCore)
    cpdef object deadline(self)
    @cython.locals(heap=list, top=tuple, m=MachineCore, n=Py_ssize_t, live=bint)
    cpdef Py_ssize_t handle_timer(self, double now) except -1


cdef class Running:
    cdef list _at, _names
    cdef dict _tix
    cdef Py_ssize_t _n


cdef class MachineCore:
    cdef public object table, ctx, state, name
    cdef readonly Running running
    cdef Compiled _k
    cdef Py_ssize_t _si, _rn, _rh, _rc
    cdef list _vals, _ring
    cdef object _values, _sink
    cdef TimerQueue _queue

    @cython.locals(k=Compiled, row=CompiledRow, ei=Py_ssize_t)
    cdef CompiledRow _row(self, object event, object message)
    cpdef bint allowed(self, object event, object message=*) except -1
    @cython.locals(row=CompiledRow)
    cpdef object fire(self, object event, object message=*, object now=*)
    @cython.locals(row=CompiledRow)
    cpdef bint fire_if(self, object event, object message=*, object now=*) except -1
    @cython.locals(t0=double, v=double, at=object, j=Py_ssize_t, running=Running, slots=list,
                   vals=list, ix=tuple, q=TimerQueue)
    cdef int _apply(self, CompiledRow row, object event, object message, object now) except -1
    @cython.locals(ring=list, j=Py_ssize_t)
    cdef int _record(self, object now, object before, object event) except -1
    cpdef object deadline(self)
    cpdef bint is_running(self, str timer)
    @cython.locals(best=Py_ssize_t, i=Py_ssize_t, slots=list)
    cdef Py_ssize_t _first(self) except -2
    @cython.locals(running=Running)
    cdef int _expire(self, Py_ssize_t timer, object now) except -1
