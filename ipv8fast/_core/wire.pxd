# The wire constants of wire.py as C enums for the compiled twins; they call wire.check_mirror at import.

cdef enum:
    PREFIX_LENGTH = 22
    MESSAGE_ID_OFFSET = 22
    AUTH_OFFSET = 23
    PAYLOAD_OFFSET = 23

# op kinds
cdef enum:
    STRUCT = 1
    BITS = 2
    RAW = 3
    VARLEN = 4
    UTF8 = 5
    IPV4 = 6
    ADDRESS = 7
    LIST = 8
    ARRAY = 9
    NESTED = 10
    PYTHON = 11

# handler kinds of the lazy_wrapper family
cdef enum:
    SIGNED = 0
    SIGNED_WITH_DATA = 1
    UNSIGNED = 2
    UNSIGNED_WITH_DATA = 3
