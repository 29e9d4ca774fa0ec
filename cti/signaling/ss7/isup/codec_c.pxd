# The compiled ISUP codec's C-level helpers that control_c shares (cimport).
cdef object new_slots(object cls, tuple names, tuple values)
