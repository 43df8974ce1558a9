"""ipv8fast's internal layer: the compiled hot paths, each a Cython module ``<name>_c`` with a pure-Python twin
``<name>_py`` and a selector ``<name>`` that imports the active one (see ``twins``), plus what they share
(``wire``, ``limits``, ``formats``, ``packers``, ``serializable``, ...). Nothing here imports the public modules
above it at import time except the receive/send twins' use of ``peer``, ``keys`` and ``messages``, and the
serializer's address tuples. Not a public API: import from ``ipv8fast`` instead.
"""
