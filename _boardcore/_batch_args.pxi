# Argument checks shared by the batch detectors (dtmf_c, mf_c), kept in C because process()
# runs every 20 ms per span. Included (not cimported) so that they inline into each kernel;
# ``_py`` is the including kernel's Python twin, whose checks raise the same errors.


cdef inline double _now(object now) except? -1.0:
    """``now`` checked: a finite float here, anything else by the twin's check (same errors)."""
    cdef double t
    if type(now) is float:
        t = now
        if isfinite(t):
            return t
    return _py.check_now(now)


cdef inline const int16_t[:, ::1] _block(object samples, Py_ssize_t rows) except *:
    """``samples`` as a C-contiguous int16 (rows, n) view: as given when it is one, else
    converted (or refused, with the reason) by the twin's ``as_channels``."""
    cdef const int16_t[:, ::1] xv
    try:
        xv = samples
    except (TypeError, ValueError, BufferError):
        return _py.as_channels(samples, rows)
    if xv.shape[0] != rows:
        return _py.as_channels(samples, rows)               # raises, with the reason
    return xv


cdef inline object _checked_rows(object channels, int count, long long *mark, Py_ssize_t stride,
                                 long long check):
    """``channels`` checked: an int32 array in one pass here (range; a repeat is seen by
    channel ``c``'s ``mark``, the ``long long`` at ``mark + c * stride`` octets, already at
    ``check``); anything else, or a bad list, by the twin's check (the same errors)."""
    if not (isinstance(channels, np.ndarray) and channels.dtype == np.int32
            and channels.ndim == 1 and channels.flags.c_contiguous):
        return _py.check_channel_list(channels, count)
    cdef const int32_t[::1] v = channels
    cdef Py_ssize_t r
    cdef int c
    cdef long long *m
    for r in range(v.shape[0]):
        c = v[r]
        if c < 0 or c >= count:
            return _py.check_channel_list(channels, count)   # raises, with the reason
        m = <long long *> ((<char *> mark) + c * stride)
        if m[0] == check:
            return _py.check_channel_list(channels, count)
        m[0] = check
    return channels
